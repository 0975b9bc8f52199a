/*
 * What the simulator's files share: one request's parsed path and wait
 * (struct sim_wait), set up and routed in sim.c, answered by simxkcd.c
 * and simpartner.c.
 */

#ifndef __H_SIM_H
#define __H_SIM_H

#include <sys/types.h>

#include <yajl/yajl_gen.h>

#include <kore/kore.h>
#include <kore/http.h>

#define SIM_XKCD_LATEST		420
#define SIM_XKCD_LAG		200

#define SIM_STATS_LAG		150
#define SIM_STATS_JITTER	50

#define SIM_BODY_NORMAL		0
#define SIM_BODY_MALFORMED	1
#define SIM_BODY_HUGE		2
#define SIM_BODY_STALL		3

#define SIM_EP_DELAY		0
#define SIM_EP_COMIC		1
#define SIM_EP_PAGE		2
#define SIM_EP_IMAGE		3
#define SIM_EP_ANALYTICS	4
#define SIM_EP_PARTNER		5

struct sim_wait {
	struct kore_timer	*timer;
	int			endpoint;
	long long		ms;
	long long		num;
	long long		status;
	long long		size;
	int			body;
	int			waiting;
	int			counted;
	char			product[40];
};

/* simxkcd.c */
void	sim_comic(struct http_request *, struct sim_wait *);
void	sim_page(struct http_request *, struct sim_wait *);
void	sim_image(struct http_request *, struct sim_wait *);

/* simtrace.c */
void	sim_trace_seen(struct http_request *, int);

/* simpartner.c */
int	sim_stats_start(struct http_request *, struct sim_wait *);
void	sim_analytics(struct http_request *, struct sim_wait *);
void	sim_partner(struct http_request *, struct sim_wait *);
void	sim_partner_flight(struct sim_wait *, int);
void	sim_partner_report(yajl_gen);

#endif

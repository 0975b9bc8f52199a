/*
 * The stats page's sources, as data: product ids, the analytics document,
 * a partner answer, Retry-After.  Pure functions (libc and yajl).
 */

#ifndef __H_PARTNER_H
#define __H_PARTNER_H

#include <stddef.h>
#include <time.h>

#define PRODUCT_ID_MAX		32
#define PRODUCTS_MAX		100
#define RETRY_AFTER_MAX		3600

typedef char	product_id[PRODUCT_ID_MAX + 1];

struct analytics_row {
	int		found;
	long long	views;
	long long	visitors;
};

struct partner_row {
	long long	sales;
	long long	clicks;
	double		revenue;
	double		conversion;
};

int	product_id_ok(const char *);
size_t	product_list_parse(const char *, product_id *, size_t, char *,
	    size_t);
int	product_list_check(const char *, char *, size_t);
int	analytics_parse(const void *, size_t, const product_id *, size_t,
	    struct analytics_row *, char *, size_t);
int	partner_parse(const void *, size_t, struct partner_row *, char *,
	    size_t);
long	retry_after_parse(const char *, time_t);
int	url_encode(char *, size_t, const char *);

#endif

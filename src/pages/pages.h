/*
 * What the page families export besides their handlers.
 */

#ifndef __H_PAGES_H
#define __H_PAGES_H

void	xkcd_reset(void);
void	stats_reset(void);
void	stats_fleet_start(void);

#endif

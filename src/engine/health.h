/*
 * The probes /healthz and /readyz, and the background host-name lookups
 * that /readyz reads.
 */

#ifndef __H_HEALTH_H
#define __H_HEALTH_H

void	health_worker_start(void);

#endif

/*
 * The sync pages' gate: under --sync-pages limit, a sync page never takes
 * the last worker that is not already blocked in one.
 */

#ifndef __H_SYNCGATE_H
#define __H_SYNCGATE_H

#include <sys/types.h>

void	syncgate_init(u_int32_t);
void	syncgate_worker_start(void);
int	syncgate_enter(void);
void	syncgate_leave(void);
void	syncgate_counts(u_int32_t *, u_int32_t *);

#endif

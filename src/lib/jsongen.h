/*
 * The pages' JSON output: a yajl generator with the project's settings
 * and one call per member.
 */

#ifndef __H_JSONGEN_H
#define __H_JSONGEN_H

#include <stddef.h>

#include <yajl/yajl_gen.h>

yajl_gen	jsongen_alloc(void);
void		jsongen_free(yajl_gen);
int		jsongen_key(yajl_gen, const char *);
int		jsongen_str(yajl_gen, const char *, const char *);
int		jsongen_int(yajl_gen, const char *, long long);
int		jsongen_double(yajl_gen, const char *, double, int);
int		jsongen_bool(yajl_gen, const char *, int);
int		jsongen_null(yajl_gen, const char *);
int		jsongen_finish(yajl_gen, const unsigned char **, size_t *);

#endif

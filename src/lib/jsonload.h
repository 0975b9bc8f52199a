/*
 * Loading an untrusted JSON document into a yajl tree: the checks every
 * parser of upstream answers needs before it reads a field.
 */

#ifndef __H_JSONLOAD_H
#define __H_JSONLOAD_H

#include <stddef.h>

#include <yajl/yajl_tree.h>

#define JSON_LOAD_OK		0
#define JSON_LOAD_EMPTY		1
#define JSON_LOAD_DEEP		2
#define JSON_LOAD_NUL		3
#define JSON_LOAD_NOMEM		4
#define JSON_LOAD_SYNTAX	5
#define JSON_LOAD_NOT_OBJECT	6

int	json_load(const void *, size_t, int, yajl_val *);
void	json_load_error(int, int, char *, size_t);
int	json_depth_ok(const void *, size_t, int);

#endif

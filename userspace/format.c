// SPDX-License-Identifier: GPL-2.0
#include <ctype.h>
#include <stdlib.h>
#include <string.h>

#include "format.h"

#define MAX_DEPTH 8

static FILE *out;
static bool json;
static int depth;
/* Per level: members written so far (commas), and whether it is an array. */
static int count[MAX_DEPTH];
static bool is_arr[MAX_DEPTH];

void out_init(FILE *f, bool as_json)
{
	out = f;
	json = as_json;
	depth = 0;
}

bool out_json(void)
{
	return json;
}

static void json_str(FILE *f, const char *s)
{
	fputc('"', f);
	for (; *s; s++) {
		if (*s == '"' || *s == '\\')
			fprintf(f, "\\%c", *s);
		else if ((unsigned char)*s < 0x20)
			fprintf(f, "\\u%04x", *s);
		else
			fputc(*s, f);
	}
	fputc('"', f);
}

/* Start a member at the current level: comma and key in JSON, indent else. */
static void member(const char *key)
{
	if (json) {
		if (count[depth]++)
			fputs(", ", out);
		if (key) {
			json_str(out, key);
			fputs(": ", out);
		}
		return;
	}
	count[depth]++;
	fprintf(out, "%*s", 2 * (depth - 1), "");
	if (key)
		fprintf(out, "%s", key);
	else if (is_arr[depth])
		fputc('-', out);
}

static void open_level(const char *key, bool arr)
{
	member(key);
	if (json)
		fputc(arr ? '[' : '{', out);
	else
		fputc('\n', out);
	if (depth < MAX_DEPTH - 1)
		depth++;
	count[depth] = 0;
	is_arr[depth] = arr;
}

static void close_level(bool arr)
{
	if (json)
		fputc(arr ? ']' : '}', out);
	if (depth > 0)
		depth--;
}

void out_begin(void)
{
	depth = 0;
	count[0] = 0;
	if (json)
		fputc('{', out);
	depth = 1;
	count[1] = 0;
	is_arr[1] = false;
}

void out_end(void)
{
	if (json)
		fputs("}\n", out);
	depth = 0;
}

void out_obj(const char *key)
{
	open_level(key, false);
}

void out_obj_end(void)
{
	close_level(false);
}

void out_arr(const char *key)
{
	open_level(key, true);
}

void out_arr_end(void)
{
	close_level(true);
}

void out_str(const char *key, const char *val)
{
	member(key);
	if (json) {
		json_str(out, val);
		return;
	}
	fprintf(out, "%s%s\n", key || is_arr[depth] ? " " : "", val);
}

void out_int(const char *key, long long val)
{
	member(key);
	if (json)
		fprintf(out, "%lld", val);
	else
		fprintf(out, "%s%lld\n", key || is_arr[depth] ? " " : "", val);
}

static bool is_number(const char *s)
{
	if (*s == '-')
		s++;
	if (!isdigit((unsigned char)*s))
		return false;
	while (isdigit((unsigned char)*s))
		s++;
	return !*s;
}

void out_val(const char *key, const char *val)
{
	if (is_number(val) && strlen(val) < 19)
		out_int(key, atoll(val));
	else
		out_str(key, val);
}

void out_error(const char *msg)
{
	if (json) {
		fputs("{\"error\": ", out);
		json_str(out, msg);
		fputs("}\n", out);
	} else {
		fprintf(stderr, "vspacectl: %s\n", msg);
	}
}

void prom_family(FILE *f, const char *name, const char *type,
		 const char *help)
{
	fprintf(f, "# HELP %s %s\n# TYPE %s %s\n", name, help, name, type);
}

void prom_sample(FILE *f, const char *name, const char *labels,
		 const char *val)
{
	fprintf(f, "%s%s%s%s %s\n", name, labels && *labels ? "{" : "",
		labels ? labels : "", labels && *labels ? "}" : "", val);
}

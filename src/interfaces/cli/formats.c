/*
 * The import formats (formats.h), composed from the parser adapters once per process.
 */
#include "formats.h"

#include <pthread.h>

#include "interfaces/scores/score_format.h"
#include "interfaces/xml/xml_parser.h"

static struct markr_format table[2];
static pthread_once_t once = PTHREAD_ONCE_INIT;

static void build(void)
{
    table[0] = markr_xml_format();
    table[1] = markr_score_format();
}

struct markr_formats markr_import_formats(void)
{
    pthread_once(&once, build);
    return (struct markr_formats){.items = table, .count = sizeof(table) / sizeof(table[0])};
}

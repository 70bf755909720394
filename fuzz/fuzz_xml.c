/*
 * libFuzzer target: the XML adapter (the document parser port over libxml2) on arbitrary
 * bytes, as a client could POST them. Any crash, leak, sanitizer report or broken
 * invariant below is a finding. Built only with -Dfuzz=true (scripts/fuzz.sh, `make fuzz`).
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "application/ports.h"
#include "domain/document.h"
#include "domain/error.h"
#include "interfaces/xml/xml_parser.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct markr_document_parser parser = markr_xml_parser();
    struct markr_document doc;
    struct markr_error err;
    int rc;

    markr_document_init(&doc);
    rc = parser.parse(parser.ctx, (const char *)data, size, &doc, &err);
    if (rc == 0) {
        /* An accepted document has results, each with the fields rule 1 demands. */
        if (doc.count == 0)
            abort();
        for (size_t i = 0; i < doc.count; ++i) {
            const struct markr_result *r = &doc.results[i];

            if (r->test_id == NULL || r->student_number == NULL || r->available == 0 || r->obtained > r->available)
                abort();
        }
    } else if (err.code == MARKR_OK || err.reason[0] == '\0' || memchr(err.message, '\0', sizeof(err.message)) == NULL) {
        abort(); /* a refusal always says why, in a terminated message */
    }
    markr_document_free(&doc);
    return 0;
}

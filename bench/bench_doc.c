/* Documents for the benchmarks (bench_doc.h). */
#include "bench_doc.h"

#include <stdio.h>
#include <stdlib.h>

char *bench_document(const char *test_id, int results, int answers, long first_student, size_t *len)
{
    size_t cap = 256 + (size_t)results * (400 + (size_t)answers * 96), off = 0;
    char *doc = malloc(cap);
    unsigned seed = 42;

    if (doc == NULL) {
        fprintf(stderr, "bench: out of memory\n");
        exit(1);
    }
    off += (size_t)snprintf(doc + off, cap - off, "<?xml version=\"1.0\" encoding=\"UTF-8\" ?>\n<mcq-test-results>\n");
    for (int i = 0; i < results; ++i) {
        long student = first_student + i;
        int obtained = 0;

        off += (size_t)snprintf(doc + off, cap - off,
                                "\t<mcq-test-result scanned-on=\"2017-12-04T12:12:10+11:00\">\n"
                                "\t\t<first-name>First%ld</first-name>\n\t\t<last-name>Last%ld</last-name>\n"
                                "\t\t<student-number>%09ld</student-number>\n\t\t<test-id>%s</test-id>\n",
                                student, student, student, test_id);
        for (int q = 0; q < answers; ++q) {
            int awarded = rand_r(&seed) % 2;

            obtained += awarded;
            off += (size_t)snprintf(doc + off, cap - off,
                                    "\t\t<answer question=\"%d\" marks-available=\"1\" marks-awarded=\"%d\">%c</answer>\n",
                                    q, awarded, 'A' + rand_r(&seed) % 4);
        }
        off += (size_t)snprintf(doc + off, cap - off,
                                "\t\t<summary-marks available=\"%d\" obtained=\"%d\" />\n\t</mcq-test-result>\n",
                                answers, obtained);
    }
    off += (size_t)snprintf(doc + off, cap - off, "</mcq-test-results>\n");
    *len = off;
    return doc;
}

/*
 * Fake ports for the use-case suites: a parser that feeds scripted results through the
 * domain (as the XML adapter does) and can be told to fail, a store and a reader that record
 * every call and can be told to fail. The store keeps deep copies of what it is given,
 * since a port may not keep the caller's pointers after it returns.
 */
#ifndef MARKR_TESTS_APPLICATION_FAKES_H
#define MARKR_TESTS_APPLICATION_FAKES_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "application/ports.h"

#define FAKE_MAX_RESULTS 16
#define FAKE_MAX_MARKS 16
#define FAKE_MAX_BODY 1024

struct fake_parser {
    /* Script: results handed to markr_document_add in order (a refusal stops the parse),
     * then, when fail_code is not MARKR_OK, a failure with that code and fail_reason. */
    struct markr_raw_result results[FAKE_MAX_RESULTS];
    size_t count;
    enum markr_error_code fail_code;
    const char *fail_reason;
    unsigned long fail_line;
    /* Record. */
    int calls;
    const char *body;
    size_t len;
};

/* Appends a result to the script; names may be NULL (absent). Returns it for tweaking. */
struct markr_raw_result *fake_parser_add(struct fake_parser *p, const char *test_id, const char *student_number,
                                         const char *first_name, const char *last_name, const char *available,
                                         const char *obtained);
struct markr_document_parser fake_parser_port(struct fake_parser *p);

struct fake_mark {
    char test_id[MARKR_TEXT_MAX + 1];
    char student_number[MARKR_TEXT_MAX + 1];
    char first_name[MARKR_TEXT_MAX + 1];
    char last_name[MARKR_TEXT_MAX + 1];
    bool has_first_name;
    bool has_last_name;
    uint32_t available;
    uint32_t obtained;
};

struct fake_store {
    /* Script. A failing operation first writes junk to *import_id, as a careless adapter
     * might, then fails with fail_error. */
    bool fail_accepted;
    bool fail_rejected;
    struct markr_error fail_error;
    int64_t next_id; /* the id of the next stored document; 0 starts at 1 */
    /* Record of every call; the entry and payload of the last one. */
    int accepted_calls;
    int rejected_calls;
    char content_type[128];
    char content_encoding[16]; /* "" for NULL */
    const char *body_ptr;
    char body[FAKE_MAX_BODY];
    size_t body_len;
    size_t result_count;
    struct fake_mark marks[FAKE_MAX_MARKS];
    size_t mark_count;
    size_t students;
    char tests[FAKE_MAX_MARKS][MARKR_TEXT_MAX + 1];
    size_t test_count;
    struct markr_error reason; /* save_rejected's reason */
    /* begin: when begins is set, it returns &handle (the store started on the body), else
     * NULL (declined, as a store does for a small body). Recorded: the calls, and the
     * entry's begun as the last save or abandon received it. */
    bool begins;
    int handle;
    int begin_calls;
    int abandon_calls;
    void *begun;
};

/* The calls made to the fake parsers and stores, in order, each name followed by a space
 * ("begin parse accepted "); fake_calls_reset empties it. */
extern char fake_calls[256];
void fake_calls_reset(void);

struct markr_import_store fake_store_port(struct fake_store *s);

struct fake_reader {
    /* Script. */
    bool fail;
    struct markr_error fail_error;
    struct markr_aggregate answer;
    /* Record. */
    int calls;
    char test_id[2 * MARKR_TEXT_MAX];
    size_t test_id_len;
};

struct markr_results_reader fake_reader_port(struct fake_reader *r);

#endif

/* fuzz_scenario: the scenario parser and validator on arbitrary bytes.
 *
 * The input is a scenario file's text, handed to sc_load_text as it is
 * (no NUL needed: the loader takes a length). Every property of
 * fuzz_check.h is checked on the result. Seeds: the .yaml files of
 * scenarios/ and tests/invalid/, and tests/fuzz/corpus/scenario/.
 *
 * Built two ways (tests/fuzz/CMakeLists.txt): with clang-14 and
 * -fsanitize=fuzzer for scripts/fuzz.sh, and with any compiler plus
 * replay.c for the CTest that replays the corpora (tests/fuzz_replay.cmake).
 */
#include <stddef.h>
#include <stdint.h>

#include "fuzz_check.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    sc_scenario *s = (sc_scenario *)1;
    char err[1024];
    memset(err, 'x', sizeof err); /* so that a missing message shows */
    int rc = sc_load_text(&s, (const char *)data, size, "fuzz.yaml", NULL,
                          err, sizeof err);
    if (rc != 0) {
        fz_check_failure(rc, s, err, sizeof err);
        return 0;
    }
    fz_check_scenario(s);
    sc_free(s);
    return 0;
}

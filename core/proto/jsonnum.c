/*
 * jsonnum.c -- see jsonnum.h.
 */
#include "jsonnum.h"

size_t hs_json_number_len(const char *s, size_t len, size_t i, int *is_int)
{
    size_t start = i, digits = 0;

    *is_int = 1;
    if (i < len && s[i] == '-')
        i++;
    if (i < len && s[i] == '0') {
        i++;
        digits = 1;
        if (i < len && s[i] >= '0' && s[i] <= '9')
            return 0;
    } else {
        while (i < len && s[i] >= '0' && s[i] <= '9')
            i++, digits++;
        if (!digits)
            return 0;
    }
    if (i < len && s[i] == '.') {
        size_t f = 0;
        *is_int = 0;
        i++;
        while (i < len && s[i] >= '0' && s[i] <= '9')
            i++, f++;
        if (!f)
            return 0;
    }
    if (i < len && (s[i] == 'e' || s[i] == 'E')) {
        size_t e = 0;
        *is_int = 0;
        i++;
        if (i < len && (s[i] == '+' || s[i] == '-'))
            i++;
        while (i < len && s[i] >= '0' && s[i] <= '9')
            i++, e++;
        if (!e || e > 2)
            return 0;
    }
    if ((*is_int && digits > 18) || i - start > HS_JSON_NUM_MAX)
        return 0;
    return i - start;
}

#ifndef CAPI_RELAY_CNCURSESW_SHIM_H
#define CAPI_RELAY_CNCURSESW_SHIM_H
// ncursesw for the operations console. Several of its interfaces are macros or global
// variables that Swift cannot import (or imports as shared mutable state, which strict
// concurrency refuses), so each one the console needs gets a small function here.
#ifndef _XOPEN_SOURCE_EXTENDED
#define _XOPEN_SOURCE_EXTENDED 1
#endif
#include <locale.h>
#include <langinfo.h>
#include <wchar.h>
#include <ncursesw/ncurses.h>

static inline WINDOW *capi_stdscr(void) { return stdscr; }
static inline int capi_lines(void) { return LINES; }
static inline int capi_cols(void) { return COLS; }
static inline int capi_colors(void) { return COLORS; }
static inline int capi_color_pairs(void) { return COLOR_PAIRS; }
static inline attr_t capi_color_pair(short pair) { return (attr_t)COLOR_PAIR(pair); }

static inline attr_t capi_a_normal(void) { return A_NORMAL; }
static inline attr_t capi_a_bold(void) { return A_BOLD; }
static inline attr_t capi_a_dim(void) { return A_DIM; }
static inline attr_t capi_a_reverse(void) { return A_REVERSE; }
static inline attr_t capi_a_underline(void) { return A_UNDERLINE; }
static inline attr_t capi_a_standout(void) { return A_STANDOUT; }

/// Sets the attributes and colour pair for the text drawn next.
static inline int capi_set_attributes(attr_t attributes, short pair) {
    return attr_set(attributes, pair, NULL);
}

/// Draws up to `count` wide characters at row `y`, column `x` of the standard screen.
static inline int capi_draw(int y, int x, const wchar_t *text, int count) {
    return mvaddnwstr(y, x, text, count);
}

/// The size of the standard screen, in rows and columns.
static inline void capi_screen_size(int *rows, int *columns) {
    int y, x;
    getmaxyx(stdscr, y, x);
    *rows = y;
    *columns = x;
}
#endif

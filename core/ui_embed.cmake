# ui_embed.cmake -- writes OUT, a C file holding the dashboard's files
# (core/ui/*) as byte arrays, for core/proto/ui.c: cmake -DIN=dir -DOUT=file -P.
set(files index.html app.js app.css favicon.svg)
set(names ui_index_html ui_app_js ui_app_css ui_favicon_svg)
set(body "/* Generated from core/ui by core/ui_embed.cmake: do not edit. */\n#include <stddef.h>\n")
foreach(f n IN ZIP_LISTS files names)
  file(READ ${IN}/${f} hex HEX)
  string(LENGTH "${hex}" hexlen)
  math(EXPR len "${hexlen} / 2")
  string(REGEX REPLACE "([0-9a-f][0-9a-f])" "0x\\1," bytes "${hex}")
  string(APPEND body "const unsigned char hs_${n}[] = {${bytes}0x00};\nconst size_t hs_${n}_len = ${len};\n")
endforeach()
file(WRITE ${OUT}.tmp "${body}")
file(COPY_FILE ${OUT}.tmp ${OUT} ONLY_IF_DIFFERENT)

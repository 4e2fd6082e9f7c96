# Splices the output of `orchctl help --markdown` into a Markdown file, replacing the text
# from its "<!-- BEGIN GENERATED" line to its "<!-- END GENERATED -->" line (or appending it
# when the file has no such section). Run by the orchctl-docs target:
#   cmake -DORCHCTL=path/to/orchctl -DDOC=docs/ORCHCTL.md -P client/update_docs.cmake
execute_process(COMMAND ${ORCHCTL} help --markdown OUTPUT_VARIABLE gen RESULT_VARIABLE rc)
if(NOT rc EQUAL 0)
  message(FATAL_ERROR "orchctl help --markdown failed (${rc})")
endif()
file(READ ${DOC} doc)
string(FIND "${doc}" "<!-- BEGIN GENERATED" begin)
string(FIND "${doc}" "<!-- END GENERATED -->\n" end)
if(begin EQUAL -1 OR end EQUAL -1)
  set(doc "${doc}\n${gen}")
else()
  string(LENGTH "<!-- END GENERATED -->\n" endlen)
  math(EXPR after "${end} + ${endlen}")
  string(SUBSTRING "${doc}" 0 ${begin} head)
  string(SUBSTRING "${doc}" ${after} -1 tail)
  set(doc "${head}${gen}${tail}")
endif()
file(WRITE ${DOC} "${doc}")

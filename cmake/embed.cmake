# orch_embed_files(OUT var NAME symbol FILES ...): generates a C file holding each file's
# name and contents, so the binary carries its SQL migrations and needs no install tree.
function(orch_embed_files)
  cmake_parse_arguments(E "" "OUT;NAME" "FILES" ${ARGN})
  set(out ${CMAKE_BINARY_DIR}/gen/${E_NAME}.c)
  # A list would split the shell command at its semicolons: pass it joined by commas.
  string(REPLACE ";" "," files_arg "${E_FILES}")
  add_custom_command(
    OUTPUT ${out}
    COMMAND ${CMAKE_COMMAND} -DOUT=${out} -DNAME=${E_NAME} "-DFILES=${files_arg}"
            -P ${CMAKE_SOURCE_DIR}/cmake/embed_run.cmake
    DEPENDS ${E_FILES} ${CMAKE_SOURCE_DIR}/cmake/embed_run.cmake
    COMMENT "embedding ${E_NAME}"
    VERBATIM)
  set(${E_OUT} ${out} PARENT_SCOPE)
endfunction()

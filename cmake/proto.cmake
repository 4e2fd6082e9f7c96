# Generates protobuf-c code for the public contract, google.rpc, the well-known types and
# grpc.health.v1 into the build tree (never into git), plus a descriptor set of everything.
set(ORCH_PROTO_DIR ${CMAKE_SOURCE_DIR}/proto)
set(ORCH_WKT_DIR /usr/include)
set(ORCH_GRPC_PROTO_DIR /usr/share/grpc-proto)
set(ORCH_GEN_DIR ${CMAKE_BINARY_DIR}/gen)
file(MAKE_DIRECTORY ${ORCH_GEN_DIR})

file(GLOB ORCH_CONTRACT_PROTOS CONFIGURE_DEPENDS
     RELATIVE ${ORCH_PROTO_DIR} ${ORCH_PROTO_DIR}/orchestrator/v1/*.proto)
set(ORCH_OWN_PROTOS ${ORCH_CONTRACT_PROTOS} google/rpc/status.proto
    google/rpc/error_details.proto)
set(ORCH_WKT_PROTOS google/protobuf/any.proto google/protobuf/duration.proto
    google/protobuf/timestamp.proto google/protobuf/struct.proto
    google/protobuf/field_mask.proto google/protobuf/empty.proto)
set(ORCH_GRPC_PROTOS grpc/health/v1/health.proto grpc/reflection/v1/reflection.proto
    grpc/reflection/v1alpha/reflection.proto)

set(ORCH_PROTO_SOURCES)
set(ORCH_PROTO_ABS)
foreach(p ${ORCH_OWN_PROTOS} ${ORCH_WKT_PROTOS} ${ORCH_GRPC_PROTOS})
  if(p IN_LIST ORCH_WKT_PROTOS)
    set(abs ${ORCH_WKT_DIR}/${p})
  elseif(p IN_LIST ORCH_GRPC_PROTOS)
    set(abs ${ORCH_GRPC_PROTO_DIR}/${p})
  else()
    set(abs ${ORCH_PROTO_DIR}/${p})
  endif()
  string(REGEX REPLACE "\\.proto$" "" base ${p})
  add_custom_command(
    OUTPUT ${ORCH_GEN_DIR}/${base}.pb-c.c ${ORCH_GEN_DIR}/${base}.pb-c.h
    COMMAND ${PROTOC_C} -I${ORCH_PROTO_DIR} -I${ORCH_WKT_DIR} -I${ORCH_GRPC_PROTO_DIR}
            --c_out=${ORCH_GEN_DIR} ${abs}
    DEPENDS ${abs}
    COMMENT "protoc-c ${p}")
  list(APPEND ORCH_PROTO_SOURCES ${ORCH_GEN_DIR}/${base}.pb-c.c)
  list(APPEND ORCH_PROTO_ABS ${abs})
endforeach()

# The descriptor set of the contract (reflection and the compatibility check use it).
add_custom_command(
  OUTPUT ${ORCH_GEN_DIR}/orchestrator.pb
  COMMAND ${PROTOC} -I${ORCH_PROTO_DIR} -I${ORCH_WKT_DIR} -I${ORCH_GRPC_PROTO_DIR}
          --include_imports --descriptor_set_out=${ORCH_GEN_DIR}/orchestrator.pb
          ${ORCH_CONTRACT_PROTOS}
  WORKING_DIRECTORY ${ORCH_PROTO_DIR}
  DEPENDS ${ORCH_PROTO_ABS}
  COMMENT "protoc descriptor set")
add_custom_target(orch_descriptor_set ALL DEPENDS ${ORCH_GEN_DIR}/orchestrator.pb)

# What server reflection serves: the contract, health and reflection, with every import.
add_custom_command(
  OUTPUT ${ORCH_GEN_DIR}/reflection_set.pb
  COMMAND ${PROTOC} -I${ORCH_PROTO_DIR} -I${ORCH_WKT_DIR} -I${ORCH_GRPC_PROTO_DIR}
          --include_imports --descriptor_set_out=${ORCH_GEN_DIR}/reflection_set.pb
          ${ORCH_CONTRACT_PROTOS} ${ORCH_GRPC_PROTOS}
  WORKING_DIRECTORY ${ORCH_PROTO_DIR}
  DEPENDS ${ORCH_PROTO_ABS}
  COMMENT "protoc reflection descriptor set")
add_custom_target(orch_reflection_set ALL DEPENDS ${ORCH_GEN_DIR}/reflection_set.pb)

add_library(orch_proto STATIC ${ORCH_PROTO_SOURCES})
target_include_directories(orch_proto PUBLIC ${ORCH_GEN_DIR})
target_link_libraries(orch_proto PUBLIC PkgConfig::PROTOBUFC)

# The one hand-written piece beside the generated code: google.protobuf.Struct <-> JSON
# (proto/pbjson.c), the converter orchctl and the server's codec share.
add_library(orch_pbjson STATIC ${ORCH_PROTO_DIR}/pbjson.c)
target_include_directories(orch_pbjson PUBLIC ${CMAKE_SOURCE_DIR})
target_compile_options(orch_pbjson PRIVATE ${ORCH_WARNINGS})
target_link_libraries(orch_pbjson PUBLIC orch_proto PkgConfig::JANSSON)

# A program that does not use TLS does not load OpenSSL (src/tls_hooks.hpp: no object a plain
# program pulls from the archive names it, and it is linked --as-needed): `readelf -d` of each of
# PLAIN names neither libssl nor libcrypto, and of each of TLS (programs with an SSLContext) both,
# so that the check cannot pass by finding no libraries at all. Inputs: READELF, PLAIN, TLS
# (executables, separated by commas).
cmake_minimum_required(VERSION 3.20)
string(REPLACE "," ";" PLAIN "${PLAIN}")
string(REPLACE "," ";" TLS "${TLS}")

function(needed_of program out)
  execute_process(COMMAND ${READELF} -d ${program} RESULT_VARIABLE rc OUTPUT_VARIABLE text
                  ERROR_VARIABLE err)
  if(NOT rc EQUAL 0)
    message(FATAL_ERROR "${READELF} -d ${program} failed (${rc}): ${err}")
  endif()
  set(${out} "${text}" PARENT_SCOPE)
endfunction()

foreach(program ${PLAIN})
  needed_of(${program} text)
  if(text MATCHES "NEEDED[^\n]*(libssl|libcrypto)")
    message(FATAL_ERROR "${program} uses no TLS but needs OpenSSL:\n${text}")
  endif()
endforeach()
foreach(program ${TLS})
  needed_of(${program} text)
  if(NOT text MATCHES "NEEDED[^\n]*libssl" OR NOT text MATCHES "NEEDED[^\n]*libcrypto")
    message(FATAL_ERROR "${program} uses TLS but does not need libssl and libcrypto:\n${text}")
  endif()
endforeach()
list(LENGTH PLAIN plain_count)
list(LENGTH TLS tls_count)
message(STATUS "openssl_only_where_used: ${plain_count} plain programs without OpenSSL, "
               "${tls_count} TLS programs with it")

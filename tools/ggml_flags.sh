# Sourced by tools/venv.sh and tools/build_llama_server.sh: the llama.cpp (ggml) build options
# for a binary that runs on this machine and on others of its kind.
#
# Not ggml's default -march=native: a CPU may advertise instructions its virtual machine does
# not enable. Measured here (Xeon with amx_tile/amx_int8 in /proc/cpuinfo, Firecracker VM): a
# native build runs ggml's AMX kernels and dies with SIGILL (`tilezero`) at the first token.
# x86-64-v3 (AVX2, FMA, F16C, BMI2) is what every x86 CPU of the last ten years runs, and the
# wheel pip caches then works on the next machine too.
ggml_cmake_flags() {
    case "$(uname -m)" in
        x86_64 | amd64)
            if grep -qw avx2 /proc/cpuinfo 2>/dev/null; then
                echo "-DGGML_NATIVE=OFF -DGGML_AVX=ON -DGGML_AVX2=ON -DGGML_FMA=ON -DGGML_F16C=ON -DGGML_BMI2=ON"
            else
                echo "-DGGML_NATIVE=OFF"
            fi
            ;;
        *) echo "" ;;
    esac
}

// Package measure holds what the pipeline and the harness both measure with: latency
// histograms in one unit and range (HDR, microseconds, 1 µs to 1 h at 3 significant
// digits, so histograms from any process merge), a sample of one process's resource
// use, and a sample of the host's load (load average, CPU busy share, this process's
// CPU time and run-queue wait). It must not import anything of VectorStream's, nor
// anything but the standard library and the HDR histogram package.
package measure

//go:build race

package serve

// raceEnabled: the race detector's instrumentation turns off the compiler's
// append-make optimisation, so bytes.Buffer's growth allocates twice.
const raceEnabled = true

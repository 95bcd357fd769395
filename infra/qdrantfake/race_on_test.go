//go:build race

package qdrantfake_test

// raceEnabled tells size-heavy tests to shrink under the race detector.
const raceEnabled = true

//go:build race

package routing

const raceDetector = true

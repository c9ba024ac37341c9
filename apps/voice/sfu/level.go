package sfu

import "math"

// amplitudes[d] is the linear amplitude of -d dBov, 0..1.
var amplitudes = func() (a [128]float64) {
	for d := range a {
		a[d] = math.Pow(10, -float64(d)/20)
	}
	a[127] = 0 // 127 is digital silence
	return a
}()

func amplitude(dbov int) float64 { return amplitudes[dbov&0x7f] }

package realtime

import (
	"math"
	"time"

	rtv1 "github.com/hearth-space/hearth/packages/shared/gen/go/hearth/realtime/v1"
)

// pose is a quantized avatar transform: millimetres, yaw as a 16-bit
// fraction of a turn, an animation number.
type pose struct {
	x, y, z int32
	yaw     uint32
	anim    uint32
}

// maxAnim is the highest animation number accepted (0 idle … 4 wave; the
// rest reserved for growth).
const maxAnim = 31

// bounds is a scene's box, in millimetres.
type bounds struct {
	minX, maxX, minY, maxY, minZ, maxZ int32
}

// sceneBounds returns the walkable box of a scene. The web client's worlds
// fit inside these; positions outside are clamped.
func sceneBounds(scene string) bounds {
	switch scene {
	case "plaza":
		return bounds{minX: -120_000, maxX: 120_000, minY: -1_000, maxY: 30_000, minZ: -120_000, maxZ: 120_000}
	default: // lounge
		return bounds{minX: -15_000, maxX: 15_000, minY: -1_000, maxY: 8_000, minZ: -15_000, maxZ: 15_000}
	}
}

func (b bounds) proto() *rtv1.Bounds {
	return &rtv1.Bounds{MinX: b.minX, MaxX: b.maxX, MinY: b.minY, MaxY: b.maxY, MinZ: b.minZ, MaxZ: b.maxZ}
}

func clamp32(v, lo, hi int32) int32 {
	if v < lo {
		return lo
	}
	if v > hi {
		return hi
	}
	return v
}

func (b bounds) clamp(p pose) pose {
	p.x = clamp32(p.x, b.minX, b.maxX)
	p.y = clamp32(p.y, b.minY, b.maxY)
	p.z = clamp32(p.z, b.minZ, b.maxZ)
	return p
}

// quantize validates a client pose and converts it: non-finite values and
// unknown animations are rejected; positions are clamped to the bounds
// (so huge values cannot overflow) and rounded to millimetres; yaw is
// wrapped into one turn.
func quantize(u *rtv1.PoseUpdate, b bounds) (pose, bool) {
	vals := [4]float32{u.GetX(), u.GetY(), u.GetZ(), u.GetYaw()}
	for _, v := range vals {
		if math.IsNaN(float64(v)) || math.IsInf(float64(v), 0) {
			return pose{}, false
		}
	}
	if u.GetAnim() > maxAnim {
		return pose{}, false
	}
	mm := func(v float32, lo, hi int32) int32 {
		f := math.Round(float64(v) * 1000)
		return int32(math.Max(float64(lo), math.Min(float64(hi), f)))
	}
	turn := math.Mod(float64(u.GetYaw()), 2*math.Pi)
	if turn < 0 {
		turn += 2 * math.Pi
	}
	yaw := uint32(math.Round(turn/(2*math.Pi)*65536)) & 0xffff
	return pose{
		x: mm(u.GetX(), b.minX, b.maxX), y: mm(u.GetY(), b.minY, b.maxY), z: mm(u.GetZ(), b.minZ, b.maxZ),
		yaw: yaw, anim: u.GetAnim(),
	}, true
}

// limitSpeed moves next no further from prev than maxSpeed allows over dt
// (plus half a metre of slack for jitter in send times). The first pose
// after joining is taken as is.
func limitSpeed(prev, next pose, dt time.Duration, maxSpeed float64) (pose, bool) {
	if dt > time.Second {
		dt = time.Second
	}
	if dt < 10*time.Millisecond {
		dt = 10 * time.Millisecond
	}
	allowed := maxSpeed*dt.Seconds()*1000 + 500
	dx, dy, dz := float64(next.x-prev.x), float64(next.y-prev.y), float64(next.z-prev.z)
	d := math.Sqrt(dx*dx + dy*dy + dz*dz)
	if d <= allowed {
		return next, false
	}
	k := allowed / d
	next.x = prev.x + int32(dx*k)
	next.y = prev.y + int32(dy*k)
	next.z = prev.z + int32(dz*k)
	return next, true
}

func (p pose) proto() *rtv1.Pose {
	return &rtv1.Pose{X: p.x, Y: p.y, Z: p.z, Yaw: p.yaw, Anim: p.anim}
}

// dist2 is the squared horizontal distance in mm².
func dist2(a, b pose) float64 {
	dx, dz := float64(a.x-b.x), float64(a.z-b.z)
	return dx*dx + dz*dz
}

package music

import (
	"context"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

// Queue operations as labelled in hearth_music_queue_operations_total.
const (
	opAdd         = "add"
	opRemove      = "remove"
	opReorder     = "reorder"
	opPlay        = "play"
	opPause       = "pause"
	opSeek        = "seek"
	opSkip        = "skip"
	opVoteSkip    = "vote_skip"
	opAutoAdvance = "auto_advance"
	opTrackGone   = "track_deleted"
)

// Reasons as labelled in hearth_music_rejected_uploads_total.
const (
	rejectTooLarge    = "too_large"
	rejectEmpty       = "empty"
	rejectUnsupported = "unsupported_type"
	rejectTruncated   = "truncated"
	rejectCorrupt     = "corrupt"
	rejectInterrupted = "interrupted"
	rejectMalformed   = "malformed"
)

type metrics struct {
	streamBytes prometheus.Counter
	ops         *prometheus.CounterVec
	upload      prometheus.Histogram
	rejected    *prometheus.CounterVec
}

func newMetrics(reg prometheus.Registerer, st Store) *metrics {
	m := &metrics{
		streamBytes: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "hearth_music_stream_bytes_total",
			Help: "Bytes of audio sent by the track stream endpoint.",
		}),
		ops: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "hearth_music_queue_operations_total",
			Help: "Room player changes, by operation (add, remove, reorder, play, pause, seek, skip, vote_skip, auto_advance, track_deleted).",
		}, []string{"operation"}),
		upload: prometheus.NewHistogram(prometheus.HistogramOpts{
			Name:    "hearth_music_upload_duration_seconds",
			Help:    "Time to receive, validate and store an accepted track upload.",
			Buckets: []float64{.05, .1, .25, .5, 1, 2.5, 5, 10, 30, 60, 120},
		}),
		rejected: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "hearth_music_rejected_uploads_total",
			Help: "Track uploads refused, by reason (too_large, empty, unsupported_type, truncated, corrupt, interrupted, malformed).",
		}, []string{"reason"}),
	}
	// The library size is the database's: every node reports the same
	// number. A failed count keeps the last good one.
	var last atomic.Int64
	tracks := prometheus.NewGaugeFunc(prometheus.GaugeOpts{
		Name: "hearth_music_tracks",
		Help: "Tracks in the music library.",
	}, func() float64 {
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
		defer cancel()
		if n, err := st.CountTracks(ctx); err == nil {
			last.Store(n)
		}
		return float64(last.Load())
	})
	reg.MustRegister(m.streamBytes, m.ops, m.upload, m.rejected, tracks)
	for _, op := range []string{opAdd, opRemove, opReorder, opPlay, opPause, opSeek, opSkip, opVoteSkip, opAutoAdvance, opTrackGone} {
		m.ops.WithLabelValues(op)
	}
	for _, r := range []string{rejectTooLarge, rejectEmpty, rejectUnsupported, rejectTruncated, rejectCorrupt, rejectInterrupted, rejectMalformed} {
		m.rejected.WithLabelValues(r)
	}
	return m
}

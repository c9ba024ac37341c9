package music_test

import (
	"bytes"
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/hearth-space/hearth/internal/audio/audiotest"
)

func TestStreamRanges(t *testing.T) {
	each(t, func(t *testing.T, e *env) {
		ada := e.registered("ada")
		data := audiotest.WAV(8000, 1, 2*time.Second, nil)
		size := len(data)
		id := ada.track("tone.wav", data)
		u := ada.want(ada.do("GET", "/api/v1/music/tracks/"+id+"/stream-url", nil), 200, "").str("url")
		anon := e.newClient() // the URL alone is the credential

		full := anon.request("GET", u, nil)
		if full.status != 200 || !bytes.Equal(full.raw, data) {
			t.Fatalf("full: %d, %d bytes", full.status, len(full.raw))
		}
		etag := full.header.Get("ETag")
		if !strings.HasPrefix(etag, `"`) || len(etag) != 66 || full.header.Get("Accept-Ranges") != "bytes" ||
			full.header.Get("Last-Modified") == "" || full.header.Get("Content-Length") != strconv.Itoa(size) ||
			!strings.Contains(full.header.Get("Cache-Control"), "max-age=") || full.header.Get("Content-Type") != "audio/wav" {
			t.Fatalf("headers: %v", full.header)
		}

		for _, c := range []struct {
			rng       string
			from, to  int // inclusive
			wantRange string
		}{
			{"bytes=0-99", 0, 99, fmt.Sprintf("bytes 0-99/%d", size)},
			{"bytes=1000-", 1000, size - 1, fmt.Sprintf("bytes 1000-%d/%d", size-1, size)},
			{"bytes=-500", size - 500, size - 1, fmt.Sprintf("bytes %d-%d/%d", size-500, size-1, size)},
			{fmt.Sprintf("bytes=%d-%d", size-10, size+1000), size - 10, size - 1, fmt.Sprintf("bytes %d-%d/%d", size-10, size-1, size)},
		} {
			r := anon.request("GET", u, nil, "Range", c.rng)
			if r.status != http.StatusPartialContent || r.header.Get("Content-Range") != c.wantRange || !bytes.Equal(r.raw, data[c.from:c.to+1]) {
				t.Fatalf("%s: %d %q, %d bytes", c.rng, r.status, r.header.Get("Content-Range"), len(r.raw))
			}
		}
		for _, bad := range []string{fmt.Sprintf("bytes=%d-", size), fmt.Sprintf("bytes=%d-%d", size+5, size+10), "bytes=9-3x"} {
			r := anon.request("GET", u, nil, "Range", bad)
			if r.status != http.StatusRequestedRangeNotSatisfiable {
				t.Fatalf("%s: %d", bad, r.status)
			}
			if bad != "bytes=9-3x" && r.header.Get("Content-Range") != fmt.Sprintf("bytes */%d", size) {
				t.Fatalf("%s: Content-Range %q", bad, r.header.Get("Content-Range"))
			}
		}
		multi := anon.request("GET", u, nil, "Range", "bytes=0-9,20-29")
		if multi.status != http.StatusPartialContent || !strings.HasPrefix(multi.header.Get("Content-Type"), "multipart/byteranges") {
			t.Fatalf("multiple ranges: %d %v", multi.status, multi.header)
		}
		// Conditional requests.
		if r := anon.request("GET", u, nil, "If-None-Match", etag); r.status != http.StatusNotModified {
			t.Fatalf("If-None-Match: %d", r.status)
		}
		if r := anon.request("GET", u, nil, "If-Modified-Since", full.header.Get("Last-Modified")); r.status != http.StatusNotModified {
			t.Fatalf("If-Modified-Since: %d", r.status)
		}
		if r := anon.request("GET", u, nil, "Range", "bytes=0-9", "If-Range", etag); r.status != http.StatusPartialContent {
			t.Fatalf("If-Range matching: %d", r.status)
		}
		if r := anon.request("GET", u, nil, "Range", "bytes=0-9", "If-Range", `"stale"`); r.status != 200 || len(r.raw) != size {
			t.Fatalf("If-Range stale: %d", r.status)
		}
		if r := anon.request("HEAD", u, nil); r.status != 200 || r.header.Get("Content-Length") != strconv.Itoa(size) || len(r.raw) != 0 {
			t.Fatalf("HEAD: %d %v", r.status, r.header)
		}
		if got := counter(t, e.reg, "hearth_music_stream_bytes_total"); got < float64(2*size) {
			t.Fatalf("stream bytes = %v", got)
		}
	})
}

func TestSignedURLs(t *testing.T) {
	each(t, func(t *testing.T, e *env) {
		ada, bob := e.registered("ada"), e.registered("bob")
		a := ada.track("a.wav", audiotest.WAV(8000, 1, 2*time.Second, nil))
		b := ada.track("b.wav", audiotest.WAV(8000, 1, 3*time.Second, nil))
		su := ada.want(ada.do("GET", "/api/v1/music/tracks/"+a+"/stream-url", nil), 200, "")
		raw := su.str("url")
		exp, err := time.Parse(time.RFC3339, su.str("expires_at"))
		if err != nil {
			t.Fatal(err)
		}
		// Valid for the configured 15 minutes beyond the track's 2 s,
		// rounded up to 5 minutes so repeated asks share a cached URL.
		if d := exp.Sub(e.clk.Now()); d < 15*time.Minute+2*time.Second || d > 20*time.Minute+2*time.Second {
			t.Fatalf("expires in %v", d)
		}
		if again := ada.want(ada.do("GET", "/api/v1/music/tracks/"+a+"/stream-url", nil), 200, "").str("url"); again != raw {
			t.Fatalf("a second ask gave another URL: %s vs %s", again, raw)
		}
		if other := bob.want(bob.do("GET", "/api/v1/music/tracks/"+a+"/stream-url", nil), 200, "").str("url"); other == raw {
			t.Fatal("two users share a URL")
		}
		parsed, _ := url.Parse(raw)
		q := parsed.Query()
		anon := e.newClient()
		with := func(path string, edit func(url.Values)) string {
			v := url.Values{}
			for k, vs := range q {
				v[k] = append([]string(nil), vs...)
			}
			edit(v)
			return path + "?" + v.Encode()
		}
		anon.want(anon.request("GET", raw, nil), 200, "")
		cases := map[string]string{
			"tampered signature": with(parsed.Path, func(v url.Values) {
				s := []byte(v.Get("sig"))
				if s[3] == 'A' {
					s[3] = 'B'
				} else {
					s[3] = 'A'
				}
				v.Set("sig", string(s))
			}),
			"extended expiry":  with(parsed.Path, func(v url.Values) { v.Set("exp", strconv.FormatInt(exp.Unix()+3600, 10)) }),
			"other user":       with(parsed.Path, func(v url.Values) { v.Set("u", bob.id) }),
			"other track":      with("/api/v1/music/tracks/"+b+"/stream", func(url.Values) {}),
			"no signature":     with(parsed.Path, func(v url.Values) { v.Del("sig") }),
			"garbage expiry":   with(parsed.Path, func(v url.Values) { v.Set("exp", "soon") }),
			"garbage encoding": with(parsed.Path, func(v url.Values) { v.Set("sig", "!!!") }),
		}
		for name, u := range cases {
			if r := anon.request("GET", u, nil); r.status != 403 || r.code() != "stream_url_invalid" {
				t.Fatalf("%s: %d %s", name, r.status, r.raw)
			}
		}
		e.clk.Advance(exp.Sub(e.clk.Now()) + time.Second)
		anon.want(anon.request("GET", raw, nil), 403, "stream_url_expired")
		anon.want(anon.request("GET", cases["tampered signature"], nil), 403, "stream_url_invalid")
	})
}

package sfu

import (
	"strings"
)

// opusFmtp rewrites the Opus fmtp lines of a local description so they
// ask for in-band FEC and DTX. Pion answers with the offerer's parameters,
// and Chrome offers useinbandfec=1 without usedtx=1; but fmtp parameters
// tell the other side what this receiver wants, so the SFU's descriptions
// must carry usedtx=1 for browsers to stop sending during silence. Pion
// refuses a munged SetLocalDescription, so the rewrite applies to what is
// sent to the client only; Pion's own behaviour does not depend on it.
func opusFmtp(sdp string) string {
	lines := strings.Split(sdp, "\r\n")
	opus := map[string]bool{}
	for _, l := range lines {
		if rest, ok := strings.CutPrefix(l, "a=rtpmap:"); ok {
			pt, codec, _ := strings.Cut(rest, " ")
			if strings.HasPrefix(strings.ToLower(codec), "opus/48000") {
				opus[pt] = true
			}
		}
	}
	for i, l := range lines {
		rest, ok := strings.CutPrefix(l, "a=fmtp:")
		if !ok {
			continue
		}
		pt, params, _ := strings.Cut(rest, " ")
		if !opus[pt] {
			continue
		}
		var keep []string
		for _, p := range strings.Split(params, ";") {
			k, _, _ := strings.Cut(strings.TrimSpace(p), "=")
			if k == "" || k == "useinbandfec" || k == "usedtx" {
				continue
			}
			keep = append(keep, strings.TrimSpace(p))
		}
		keep = append(keep, "useinbandfec=1", "usedtx=1")
		lines[i] = "a=fmtp:" + pt + " " + strings.Join(keep, ";")
	}
	return strings.Join(lines, "\r\n")
}

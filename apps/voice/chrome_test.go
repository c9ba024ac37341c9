package voice_test

import (
	"os"
	"regexp"
	"strings"
	"testing"
	"time"

	voicev1 "github.com/hearth-space/hearth/packages/shared/gen/go/hearth/voice/v1"
)

// TestChromeOffer feeds the offer Chromium 156 makes for one sendonly
// microphone (testdata, captured from headless Chromium) to the SFU: the
// answer must pick Opus 111 with in-band FEC and DTX, keep Chrome's
// audio-level extension id, and the server's later offers (a participant
// to receive) must use the same payload type and extension id.
// VOICE_SDP_DUMP=dir writes the SDPs for a manual check in a browser.
func TestChromeOffer(t *testing.T) {
	offer, err := os.ReadFile("testdata/chrome-156-offer.sdp")
	if err != nil {
		t.Fatal(err)
	}
	e := newEnv(t)
	ctx := testCtx(t, 20*time.Second)
	r := e.raw(ctx)
	r.join(&voicev1.Join{Token: e.token("chrome", "r", "member", time.Minute)})
	if m, _ := r.until(func(m *voicev1.ServerMessage) bool { return m.GetJoined() != nil }); m == nil {
		t.Fatal("no joined")
	}
	r.send(&voicev1.ClientMessage{Msg: &voicev1.ClientMessage_Offer{Offer: &voicev1.SessionDescription{Sdp: string(offer)}}})
	m, code := r.until(func(m *voicev1.ServerMessage) bool { return m.GetAnswer() != nil || m.GetError() != nil })
	if m == nil || m.GetError() != nil {
		t.Fatalf("Chrome's offer refused: %v (close %d)", m.GetError(), code)
	}
	answer := m.GetAnswer().Sdp
	checkOpusSDP(t, "answer", answer)
	if !strings.Contains(answer, "a=recvonly") {
		t.Error("the answer to a sendonly microphone must be recvonly")
	}
	for _, c := range []string{"G722", "PCMU", "red/", "telephone-event"} {
		if strings.Contains(answer, c) {
			t.Errorf("the answer accepts %s", c)
		}
	}

	// Someone else publishes: the server offers Chrome a transceiver.
	b := e.join(ctx, "bob", "r", "member")
	if err := b.WaitConnected(ctx); err != nil {
		t.Fatal(err)
	}
	tm, _ := r.until(func(m *voicev1.ServerMessage) bool { return m.GetTracks() != nil && len(m.GetTracks().Tracks) > 0 })
	if tm == nil {
		t.Fatal("no track map")
	}
	om, _ := r.until(func(m *voicev1.ServerMessage) bool { return m.GetOffer() != nil })
	if om == nil {
		t.Fatal("no server offer")
	}
	so := om.GetOffer().Sdp
	checkOpusSDP(t, "server offer", so)
	info := tm.GetTracks().Tracks[0]
	if info.UserId != "bob" || !strings.Contains(so, "a=mid:"+info.Mid) || !strings.Contains(so, "a=msid:bob ") {
		t.Errorf("track map %v does not match the offer:\n%s", info, so)
	}
	if n := strings.Count(so, "m=audio"); n != 2 {
		t.Errorf("server offer has %d audio sections, want 2 (microphone + bob)", n)
	}
	if dir := os.Getenv("VOICE_SDP_DUMP"); dir != "" {
		_ = os.WriteFile(dir+"/answer.sdp", []byte(answer), 0o644)
		_ = os.WriteFile(dir+"/server-offer.sdp", []byte(so), 0o644)
	}
}

func checkOpusSDP(t *testing.T, what, sdp string) {
	t.Helper()
	for _, want := range []string{
		"a=rtpmap:111 opus/48000/2",
		"a=extmap:1 urn:ietf:params:rtp-hdrext:ssrc-audio-level",
		"a=rtcp-mux",
	} {
		if !strings.Contains(sdp, want) {
			t.Errorf("%s lacks %q:\n%s", what, want, sdp)
		}
	}
	fmtp := regexp.MustCompile(`a=fmtp:111 (.*)`).FindStringSubmatch(sdp)
	if fmtp == nil || !strings.Contains(fmtp[1], "useinbandfec=1") || !strings.Contains(fmtp[1], "usedtx=1") {
		t.Errorf("%s: Opus fmtp %v lacks useinbandfec=1;usedtx=1", what, fmtp)
	}
}

package agent

import (
	"strings"
	"testing"
)

func TestAddStructNamesCountersFromFields(t *testing.T) {
	var got []string
	add := func(name, labels string, v uint64) {
		got = append(got, name+"{"+labels+"}="+string(rune('0'+v)))
	}
	addStruct(add, "netboot_tftp", `boot_server="lab"`, struct {
		TransfersOK     uint64
		BytesSent       uint64
		RefusedBadPath  uint64
		MaxBlockSizeSet bool
	}{TransfersOK: 1, BytesSent: 2, RefusedBadPath: 3})
	want := `netboot_tftp_transfers_ok_total{boot_server="lab"}=1 netboot_tftp_bytes_sent_total{boot_server="lab"}=2 netboot_tftp_refused_bad_path_total{boot_server="lab"}=3`
	if strings.Join(got, " ") != want {
		t.Fatalf("got  %s\nwant %s", strings.Join(got, " "), want)
	}
}

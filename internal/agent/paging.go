package agent

import (
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"net/netip"
	"slices"
	"time"

	"google.golang.org/protobuf/proto"

	"github.com/netbootlab/terraform-provider-netboot/internal/boot/config"
)

// Every List RPC returns its items in pages (AIP-158), so no response
// outgrows gRPC's default 4 MiB message limit however busy the site.
const (
	// maxPageSize is the most items one page holds; it is also the page
	// size when a request leaves page_size unset.
	maxPageSize = 10000
	// maxPageBytes bounds the encoded items of a page, whatever they hold:
	// a quarter of the 4 MiB limit leaves room for the framing and the
	// token. A page always holds at least one item.
	maxPageBytes = 1 << 20
	// pageTokenTTL is how long a next_page_token continues its listing; a
	// listing is read in seconds, and an older token would mix very
	// different moments of the collection.
	pageTokenTTL = time.Hour
)

const notOurToken = "is not a page token this agent issued; pass next_page_token exactly as returned, or leave it empty for the first page"

// pageRequest is what every List request carries.
type pageRequest interface {
	GetPageSize() int32
	GetPageToken() string
}

// pageToken is what a next_page_token holds: the list it continues, the
// request fields it was issued for, and the key of the last item returned.
// The next page starts after that key, so items added or removed meanwhile
// never shift it.
type pageToken struct {
	List   string   `json:"l"`
	Filter string   `json:"f,omitempty"`
	After  []string `json:"a"`
	Issued int64    `json:"t"` // unix seconds
}

// page collects one page of a listing whose items are visited in key
// order. A key is a list of strings ordered as slices.Compare orders them.
type page struct {
	list, filter string
	size         int
	// after is the key of the last item of the previous page; nil on the
	// first page.
	after []string
	now   time.Time

	n, bytes int
	last     []string // key of the last item taken
	full     bool     // an item was refused: the listing goes on
}

// newPage reads req's page_size and page_token for the list named list,
// whose keys have keyLen parts; filter is the request's other fields,
// which must stay the same from page to page.
func newPage(list, filter string, keyLen int, req pageRequest, now time.Time) (*page, error) {
	p := &page{list: list, filter: filter, size: maxPageSize, now: now}
	switch size := req.GetPageSize(); {
	case size < 0:
		return nil, pageError("page_size", fmt.Sprintf("is %d; want 0 (the default, %d) or more", size, maxPageSize))
	case size > 0 && size < maxPageSize:
		p.size = int(size)
	}
	if req.GetPageToken() == "" {
		return p, nil
	}
	tok, err := decodePageToken(req.GetPageToken())
	switch {
	case err != nil || len(tok.After) != keyLen:
		return nil, pageError("page_token", notOurToken)
	case tok.List != list:
		return nil, pageError("page_token", fmt.Sprintf("continues a listing of %s, not of %s", tok.List, list))
	case tok.Filter != filter:
		return nil, pageError("page_token", "was issued for other request fields; keep every field but page_size as on the first page")
	case now.Sub(time.Unix(tok.Issued, 0)) > pageTokenTTL:
		return nil, pageError("page_token", fmt.Sprintf("has expired (page tokens last %s); list again from the first page", pageTokenTTL))
	}
	p.after = tok.After
	return p, nil
}

func pageError(field, reason string) error {
	return invalidArgument("page request", config.FieldErrors{{Path: []any{field}, Reason: reason}})
}

func decodePageToken(s string) (pageToken, error) {
	var tok pageToken
	data, err := base64.RawURLEncoding.DecodeString(s)
	if err == nil {
		err = json.Unmarshal(data, &tok)
	}
	return tok, err
}

func (t pageToken) encode() string {
	data, _ := json.Marshal(t) // strings and a number always encode
	return base64.RawURLEncoding.EncodeToString(data)
}

// seen reports whether the item of key was on an earlier page.
func (p *page) seen(key ...string) bool {
	return p.after != nil && slices.Compare(key, p.after) <= 0
}

// room is how many more items the page may take, by count.
func (p *page) room() int { return p.size - p.n }

// add takes m, whose key is key, unless the page is full; false means the
// page is complete and the listing goes on from the last item taken.
func (p *page) add(m proto.Message, key ...string) bool {
	if p.full {
		return false
	}
	size := proto.Size(m)
	if p.n >= p.size || (p.n > 0 && p.bytes+size > maxPageBytes) {
		p.full = true
		return false
	}
	p.n++
	p.bytes += size
	p.last = key
	return true
}

// nextToken is the response's next_page_token: empty when the listing
// ended on this page.
func (p *page) nextToken() string {
	if !p.full {
		return ""
	}
	return pageToken{List: p.list, Filter: p.filter, After: p.last, Issued: p.now.Unix()}.encode()
}

// addrKey writes an address as a key part that sorts as addresses do.
func addrKey(a netip.Addr) string {
	b := a.As16()
	return hex.EncodeToString(b[:])
}

// addrFromKey reads addrKey's output back.
func addrFromKey(s string) (netip.Addr, error) {
	b, err := hex.DecodeString(s)
	if err != nil || len(b) != 16 {
		return netip.Addr{}, pageError("page_token", notOurToken)
	}
	return netip.AddrFrom16([16]byte(b)), nil
}

// pageByName pages a listing keyed by name: names sorted, item the message
// of one name, made only for the names the page shows.
func pageByName[T proto.Message](list string, req pageRequest, names []string, item func(name string) T) ([]T, string, error) {
	pg, err := newPage(list, "", 1, req, time.Now())
	if err != nil {
		return nil, "", err
	}
	var out []T
	for _, name := range names {
		if pg.seen(name) {
			continue
		}
		m := item(name)
		if !pg.add(m, name) {
			break
		}
		out = append(out, m)
	}
	return out, pg.nextToken(), nil
}

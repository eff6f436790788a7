package store

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"hash/fnv"
	"io"
	"os"
)

// checkFile walks the bbolt file at path the way bbolt itself would read
// it, with every offset and length bounds-checked, and says what is wrong
// with it (nil: bbolt can open and read it).
//
// bbolt trusts its file: a damaged page makes it panic, sometimes on a
// goroutine of its own where no recover can catch it (the free-page scan
// at open). So the file is checked with plain reads before bbolt maps it.
// The rules are bbolt's own consistency check (Tx.Check): each page
// within the high-water mark and the file, named by its own header,
// reached once, of the right type, with keys in order.
func checkFile(path string) error {
	f, err := os.Open(path)
	if err != nil {
		return err
	}
	defer f.Close()
	info, err := f.Stat()
	if err != nil {
		return err
	}
	c := &fileChecker{r: f, size: info.Size()}
	return c.check()
}

// On-disk layout of a bbolt file (format version 2), native byte order.
const (
	boltMagic          = 0xED0CDAED
	boltVersion        = 2
	pageHeaderSize     = 16 // id u64, flags u16, count u16, overflow u32
	branchElementSize  = 16 // pos u32, ksize u32, pgid u64
	leafElementSize    = 16 // flags u32, pos u32, ksize u32, vsize u32
	bucketHeaderSize   = 16 // root pgid u64, sequence u64
	metaChecksumOffset = 56 // the meta's bytes before its checksum
	metaSize           = 64

	branchPageFlag   = 0x01
	leafPageFlag     = 0x02
	metaPageFlag     = 0x04
	freelistPageFlag = 0x10
	bucketLeafFlag   = 0x01

	noFreelist = ^uint64(0)
)

var order = binary.NativeEndian

type meta struct {
	pageSize uint32
	root     uint64 // the root bucket's page
	freelist uint64
	hwm      uint64 // pages [0, hwm) are in use or free
	txid     uint64
}

// parseMeta reads the meta page at the start of page; it fails when the
// magic, version or checksum is wrong, as bbolt's Meta.Validate does.
func parseMeta(page []byte) (meta, error) {
	if len(page) < pageHeaderSize+metaSize {
		return meta{}, errors.New("too short")
	}
	m := page[pageHeaderSize : pageHeaderSize+metaSize]
	switch {
	case order.Uint32(m[0:]) != boltMagic:
		return meta{}, errors.New("not a bbolt header")
	case order.Uint32(m[4:]) != boltVersion:
		return meta{}, fmt.Errorf("bbolt format version %d", order.Uint32(m[4:]))
	}
	h := fnv.New64a()
	h.Write(m[:metaChecksumOffset])
	if h.Sum64() != order.Uint64(m[metaChecksumOffset:]) {
		return meta{}, errors.New("checksum mismatch")
	}
	return meta{
		pageSize: order.Uint32(m[8:]),
		root:     order.Uint64(m[16:]),
		freelist: order.Uint64(m[32:]),
		hwm:      order.Uint64(m[40:]),
		txid:     order.Uint64(m[48:]),
	}, nil
}

type fileChecker struct {
	r        io.ReaderAt
	size     int64
	pageSize int64
	meta     meta
	seen     map[uint64]bool // pages reached from the root
	free     map[uint64]bool // pages the free list names
}

func (c *fileChecker) check() error {
	if err := c.readMeta(); err != nil {
		return err
	}
	c.seen, c.free = make(map[uint64]bool), make(map[uint64]bool)
	if c.meta.freelist != noFreelist {
		if err := c.checkFreelist(); err != nil {
			return err
		}
	}
	return c.checkBucketPages(c.meta.root, nil)
}

// readMeta picks the meta page bbolt would use: of the two, the valid one
// with the higher transaction id. Page 0 tells the page size; if it is
// damaged, page 1 is looked for at each size bbolt supports.
func (c *fileChecker) readMeta() error {
	var metas []meta
	var first [0x1000]byte
	if n, _ := c.r.ReadAt(first[:], 0); n >= pageHeaderSize+metaSize {
		if m, err := parseMeta(first[:n]); err == nil && validPageSize(m.pageSize) {
			metas = append(metas, m)
		}
	}
	for shift := 0; shift <= 14; shift++ {
		at := int64(1024) << shift
		if len(metas) > 0 {
			at = int64(metas[0].pageSize)
		}
		var buf [pageHeaderSize + metaSize]byte
		if n, _ := c.r.ReadAt(buf[:], at); n == len(buf) {
			if m, err := parseMeta(buf[:]); err == nil && int64(m.pageSize) == at {
				metas = append(metas, m)
				break
			}
		}
		if len(metas) > 0 || at >= c.size {
			break
		}
	}
	switch {
	case len(metas) == 0:
		return errors.New("both header pages are unreadable: this is not a bbolt file, or its first pages are damaged")
	case len(metas) == 2 && metas[1].txid > metas[0].txid:
		c.meta = metas[1]
	default:
		c.meta = metas[0]
	}
	c.pageSize = int64(c.meta.pageSize)
	return nil
}

func validPageSize(s uint32) bool { return s >= 1024 && s <= 1<<24 && s&(s-1) == 0 }

// readPage returns page id with its overflow pages, after checking that
// it lies inside the file, is named id in its header and is reached for
// the first time.
func (c *fileChecker) readPage(id uint64) ([]byte, error) {
	if id < 2 || id >= c.meta.hwm {
		return nil, fmt.Errorf("page %d is referenced but lies outside the %d pages in use", id, c.meta.hwm)
	}
	at := int64(id) * c.pageSize
	if at+c.pageSize > c.size {
		return nil, fmt.Errorf("page %d lies beyond the end of the file (%d bytes): the file was cut short", id, c.size)
	}
	page := make([]byte, c.pageSize)
	if _, err := c.r.ReadAt(page, at); err != nil {
		return nil, fmt.Errorf("reading page %d: %w", id, err)
	}
	if got := order.Uint64(page[0:]); got != id {
		return nil, fmt.Errorf("page %d names itself page %d", id, got)
	}
	overflow := uint64(order.Uint32(page[12:]))
	if id+overflow >= c.meta.hwm || at+int64(overflow+1)*c.pageSize > c.size {
		return nil, fmt.Errorf("page %d claims %d overflow pages, past the end of the file", id, overflow)
	}
	for i := id; i <= id+overflow; i++ {
		if c.seen[i] {
			return nil, fmt.Errorf("page %d is referenced twice", i)
		}
		if c.free[i] {
			return nil, fmt.Errorf("page %d is in use and also listed as free", i)
		}
		c.seen[i] = true
	}
	if overflow > 0 {
		page = append(page, make([]byte, int64(overflow)*c.pageSize)...)
		if _, err := c.r.ReadAt(page[c.pageSize:], at+c.pageSize); err != nil {
			return nil, fmt.Errorf("reading page %d: %w", id, err)
		}
	}
	return page, nil
}

func (c *fileChecker) checkFreelist() error {
	id := c.meta.freelist
	page, err := c.readPage(id)
	if err != nil {
		return fmt.Errorf("free list: %w", err)
	}
	if flags := order.Uint16(page[8:]); flags != freelistPageFlag {
		return fmt.Errorf("free list page %d has page type %#x", id, flags)
	}
	start, count := uint64(pageHeaderSize), uint64(order.Uint16(page[10:]))
	if count == 0xFFFF {
		count = order.Uint64(page[pageHeaderSize:])
		start += 8
	}
	if count > (uint64(len(page))-start)/8 {
		return fmt.Errorf("free list page %d claims %d entries, more than fit", id, count)
	}
	for i := range count {
		free := order.Uint64(page[start+8*i:])
		if free < 2 || free >= c.meta.hwm {
			return fmt.Errorf("free list page %d lists page %d, outside the %d pages in use", id, free, c.meta.hwm)
		}
		if c.free[free] || c.seen[free] {
			return fmt.Errorf("free list page %d lists page %d twice or lists itself", id, free)
		}
		c.free[free] = true
	}
	return nil
}

// checkBucketPages checks the tree of the bucket rooted at page root, or
// stored inline in inline when root is 0.
func (c *fileChecker) checkBucketPages(root uint64, inline []byte) error {
	if root == 0 {
		if len(inline) < pageHeaderSize {
			return errors.New("an inline bucket is shorter than its header")
		}
		_, err := c.checkNode(inline, "inline bucket", true, nil, nil)
		return err
	}
	_, err := c.checkTreePage(root, nil, nil)
	return err
}

// checkTreePage checks page id and the pages below it; every key must be
// >= min (if set) and < max (if set). It returns the last key of the
// subtree, which the next sibling's keys must follow.
func (c *fileChecker) checkTreePage(id uint64, min, max []byte) ([]byte, error) {
	page, err := c.readPage(id)
	if err != nil {
		return nil, err
	}
	return c.checkNode(page, fmt.Sprintf("page %d", id), false, min, max)
}

// checkNode checks the branch or leaf page in page (named where, for
// errors; inline: the page is an inline bucket's value) and what it
// refers to.
func (c *fileChecker) checkNode(page []byte, where string, inline bool, min, max []byte) ([]byte, error) {
	flags, count := order.Uint16(page[8:]), int(order.Uint16(page[10:]))
	if flags != branchPageFlag && flags != leafPageFlag {
		return nil, fmt.Errorf("%s should hold keys but has page type %#x", where, flags)
	}
	if pageHeaderSize+count*leafElementSize > len(page) {
		return nil, fmt.Errorf("%s claims %d keys, more than fit", where, count)
	}
	// field returns n bytes at elem+pos, or nil when they leave the page.
	field := func(elem, pos, n uint64) []byte {
		start := elem + pos
		if start < elem || start+n < start || start+n > uint64(len(page)) {
			return nil
		}
		return page[start : start+n]
	}
	last := min
	for i := range count {
		elem := uint64(pageHeaderSize + i*leafElementSize)
		e := page[elem : elem+leafElementSize]
		var key, value []byte
		var child uint64
		isBucket := false
		if flags == branchPageFlag {
			child = order.Uint64(e[8:])
			key = field(elem, uint64(order.Uint32(e[0:])), uint64(order.Uint32(e[4:])))
		} else {
			isBucket = order.Uint32(e[0:])&bucketLeafFlag != 0
			ksize, vsize := uint64(order.Uint32(e[8:])), uint64(order.Uint32(e[12:]))
			kv := field(elem, uint64(order.Uint32(e[4:])), ksize+vsize)
			if kv != nil {
				key, value = kv[:ksize], kv[ksize:]
			}
		}
		if key == nil {
			return nil, fmt.Errorf("%s: key %d lies outside the page", where, i)
		}
		// bbolt's order rules: a page's first key may equal the bound its
		// parent gives; later keys strictly follow the previous one.
		if last != nil && (bytes.Compare(key, last) < 0 || (i > 0 && bytes.Equal(key, last))) {
			return nil, fmt.Errorf("%s: key %d is out of order", where, i)
		}
		if max != nil && bytes.Compare(key, max) >= 0 {
			return nil, fmt.Errorf("%s: key %d is beyond its parent's range", where, i)
		}
		last = key
		switch {
		case flags == branchPageFlag:
			var next []byte
			if i+1 < count {
				n := uint64(pageHeaderSize + (i+1)*branchElementSize)
				next = field(n, uint64(order.Uint32(page[n:])), uint64(order.Uint32(page[n+4:])))
				if next == nil {
					return nil, fmt.Errorf("%s: key %d lies outside the page", where, i+1)
				}
			}
			sub, err := c.checkTreePage(child, key, next)
			if err != nil {
				return nil, err
			}
			last = sub
		case isBucket && inline:
			// bbolt stores a bucket inline only when it holds no buckets.
			return nil, fmt.Errorf("%s: bucket %q inside an inline bucket", where, key)
		case isBucket:
			if len(value) < bucketHeaderSize {
				return nil, fmt.Errorf("%s: bucket %q has a short header", where, key)
			}
			if err := c.checkBucketPages(order.Uint64(value), value[bucketHeaderSize:]); err != nil {
				return nil, fmt.Errorf("bucket %q: %w", key, err)
			}
		}
	}
	if flags == branchPageFlag && count == 0 {
		return nil, fmt.Errorf("%s is an empty branch", where)
	}
	return last, nil
}

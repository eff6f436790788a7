package machineconfig

import (
	"errors"
	"fmt"
	"io/fs"
	"strings"

	"github.com/netbootlab/terraform-provider-netboot/internal/boot/config"
)

// PathPrefix is where every boot server's HTTP server serves machines'
// files: PathPrefix/<machine>/<token>/<file>.
const PathPrefix = "netboot/config/"

// Path is where machine's file is, below the HTTP root; file "" is the
// directory, with a trailing slash.
func Path(machine, token, file string) string {
	return PathPrefix + machine + "/" + token + "/" + file
}

// URL is where machine's file is on the boot server whose HTTP URL is
// httpBase (bootfile.URLBase's, without a trailing slash). Every part is
// a name, hex or a file name checked by FromProto, so none needs escaping.
func URL(httpBase, machine, token, file string) (string, error) {
	if token == "" {
		return "", fmt.Errorf("%q is no machine the agent knows, so it has no config URL", machine)
	}
	if file != "" && !fileNamePattern.MatchString(file) {
		return "", fmt.Errorf("ConfigURL %q: the file is a name such as \"user-data\"", file)
	}
	return httpBase + "/" + Path(machine, token, file), nil
}

// HTTPSURL is URL on the boot server's HTTPS base, an error while it has
// none (boot.https off).
func HTTPSURL(httpsBase, machine, token, file string) (string, error) {
	if httpsBase == "" {
		return "", errors.New("HTTPSConfigURL: the boot server does not serve HTTPS (boot.https.enabled is false); use ConfigURL")
	}
	return URL(httpsBase, machine, token, file)
}

// ErrWrongToken is why a request for a machine's file is refused: its URL
// does not carry that machine's token. The HTTP server answers 403.
var ErrWrongToken = fmt.Errorf("the URL does not carry the machine's token: %w", fs.ErrPermission)

// ErrNotItsAddress is why a request with the machine's token is refused
// all the same: it does not come from an address of that machine (see
// config.Requester). The HTTP server answers 403.
var ErrNotItsAddress = fmt.Errorf("the request does not come from the machine's address: %w", fs.ErrPermission)

// Serve renders the file name (a path below PathPrefix) for the machine
// it names, when its token is right and the request comes from that
// machine. A machine or file that does not exist is fs.ErrNotExist; a
// wrong or missing token is ErrWrongToken and a request from another
// address ErrNotItsAddress, so a neighbour cannot read another machine's
// secrets, even with a token it overheard.
func Serve(machines map[string]config.Machine, configs map[string]Config, site Site, name string, from config.Requester) ([]byte, error) {
	rest, ok := strings.CutPrefix(name, PathPrefix)
	if !ok {
		return nil, fs.ErrNotExist
	}
	parts := strings.Split(rest, "/")
	m, ok := machines[parts[0]]
	if !ok {
		return nil, fmt.Errorf("no machine %q: %w", parts[0], fs.ErrNotExist)
	}
	if len(parts) != 3 || !config.SameToken(parts[1], m.ConfigToken) {
		return nil, fmt.Errorf("machine %q, requested from %s: %w", m.Name, from, ErrWrongToken)
	}
	if from.Machine != m.Name {
		return nil, fmt.Errorf("machine %q, requested from %s: %w", m.Name, from, ErrNotItsAddress)
	}
	c := For(configs, m, parts[2])
	if c == nil {
		return nil, fmt.Errorf("no netboot_config serves %q to machine %q: %w", parts[2], m.Name, fs.ErrNotExist)
	}
	out, err := Render(c, m, site)
	if err != nil {
		// The agent refuses configs and machines that do not render, so
		// this is a boot server's URL or a store from an older agent.
		return nil, errors.Join(fmt.Errorf("config %q", c.Name), err)
	}
	return out, nil
}

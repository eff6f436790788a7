package menu

import "fmt"

// Machine returns the name of the machine h is, by its MAC address or
// UUID, or "" when it is none of the catalog's. Identifiers are unique
// across machines, so one of each matches at most; should the MAC address
// be one machine's and the UUID another's, the MAC address decides.
func (c *Catalog) Machine(h Host) string {
	for _, id := range [2]Host{{MAC: h.MAC}, {UUID: h.UUID}} {
		if id == (Host{}) {
			continue
		}
		for name, m := range c.Machines {
			if m.Identifies(id.MAC, "", id.UUID) {
				return name
			}
		}
	}
	return ""
}

// SelectFor picks the menu for host h, running boot loader f, among menus
// (the catalog's, sorted by name) in the documented order: only menus whose
// formats name f count; among those, the menu of the machine h is, if it
// names one; else Select's choice, where labels in a menu's match are
// compared with that machine's labels.
func (c *Catalog) SelectFor(menus []Menu, bootServer string, f Format, h Host) (*Menu, string) {
	if c == nil {
		return Select(menus, bootServer, f, h)
	}
	skipped := ""
	if mm, name := c.MachineMenu(h); mm != nil {
		if mm.For(f) {
			return mm, fmt.Sprintf("machine %q boots menu %q", name, mm.Name)
		}
		skipped = fmt.Sprintf("machine %q's menu %q is not for %s (formats); ", name, mm.Name, f)
	}
	var labels map[string]string
	if name := c.Machine(h); name != "" {
		labels = c.Machines[name].Labels
	}
	m, reason := selectMenu(menus, bootServer, f, h, labels)
	return m, skipped + reason
}

// MachineMenu returns the menu the machine h is boots and that machine's
// name, or nil when h is no machine or its machine names no menu.
func (c *Catalog) MachineMenu(h Host) (*Menu, string) {
	name := c.Machine(h)
	if name == "" || c.Machines[name].Menu == "" {
		return nil, ""
	}
	m, ok := c.Menus[c.Machines[name].Menu]
	if !ok {
		return nil, ""
	}
	return &m, name
}

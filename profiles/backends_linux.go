package profiles

import (
	"os"
	"slices"

	"github.com/godbus/dbus"
)

// busServes reports whether a bus name has an owner on the session bus, or can be started
// by it. Opening KWallet itself would open the wallet, which may ask the user. Called only
// once keyring has found the bus (it lists the bus backends only then): with
// DBUS_SESSION_BUS_ADDRESS unset, godbus would launch a bus.
func busServes(name string) bool {
	if a := os.Getenv("DBUS_SESSION_BUS_ADDRESS"); a == "" || a == "autolaunch:" {
		return false
	}
	conn, err := dbus.SessionBus()
	if err != nil {
		return false
	}
	var owned bool
	if conn.BusObject().Call("org.freedesktop.DBus.NameHasOwner", 0, name).Store(&owned) == nil && owned {
		return true
	}
	var activatable []string
	if conn.BusObject().Call("org.freedesktop.DBus.ListActivatableNames", 0).Store(&activatable) != nil {
		return false
	}
	return slices.Contains(activatable, name)
}

package keyring

import (
	"errors"
	"os"
	"strconv"

	"github.com/godbus/dbus"
)

// Patched for av (see PATCHES.md).

// errNoSessionBus says no session bus is known: none is named and none is at the
// standard place.
var errNoSessionBus = errors.New("no D-Bus session bus: DBUS_SESSION_BUS_ADDRESS is not set")

// sessionBus is godbus's shared session bus connection, made only when a bus exists.
// godbus runs dbus-launch when DBUS_SESSION_BUS_ADDRESS is unset (or "autolaunch:") and
// it finds no socket at /run/user/UID/bus; the daemon that starts outlives the process,
// holding a copy of its whole environment. So a bus that is neither named nor at that
// socket counts as none, and the socket, when it is there, is named for godbus (as godbus
// itself would name it once found).
func sessionBus() (*dbus.Conn, error) {
	if a := os.Getenv("DBUS_SESSION_BUS_ADDRESS"); a == "" || a == "autolaunch:" {
		socket := "/run/user/" + strconv.Itoa(os.Getuid()) + "/bus"
		if st, err := os.Stat(socket); err != nil || st.Mode()&os.ModeSocket == 0 {
			return nil, errNoSessionBus
		}
		os.Setenv("DBUS_SESSION_BUS_ADDRESS", "unix:path="+socket)
	}
	return dbus.SessionBus()
}

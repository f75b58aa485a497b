package env

import (
	"encoding/binary"
	"net"

	"golang.org/x/sys/unix"
)

// peerUID returns the uid of the process that holds the other end of a loopback TCP
// connection, as the kernel's socket diagnostics (NETLINK_SOCK_DIAG, what `ss -e` asks)
// give it: one exact lookup of the peer's socket by its address and port. ok is false when
// the kernel does not say.
//
// The request and answer are built by hand: golang.org/x/sys/unix has the constants, not
// the structs (struct inet_diag_req_v2 and struct inet_diag_msg, linux/inet_diag.h).
func peerUID(c net.Conn) (uid int, ok bool) {
	local, lok := c.LocalAddr().(*net.TCPAddr)
	remote, rok := c.RemoteAddr().(*net.TCPAddr)
	if !lok || !rok || local.IP.To4() == nil || remote.IP.To4() == nil {
		return 0, false
	}
	fd, err := unix.Socket(unix.AF_NETLINK, unix.SOCK_DGRAM|unix.SOCK_CLOEXEC, unix.NETLINK_SOCK_DIAG)
	if err != nil {
		return 0, false
	}
	defer unix.Close(fd)
	tv := unix.Timeval{Usec: 200_000} // the kernel answers at once; never wait long
	_ = unix.SetsockoptTimeval(fd, unix.SOL_SOCKET, unix.SO_RCVTIMEO, &tv)

	// struct nlmsghdr (16 bytes), then struct inet_diag_req_v2 (56 bytes): the peer's
	// socket is the one whose source is the connection's remote end.
	req := make([]byte, 16+56)
	ne := binary.NativeEndian
	ne.PutUint32(req[0:], uint32(len(req)))
	ne.PutUint16(req[4:], unix.SOCK_DIAG_BY_FAMILY)
	ne.PutUint16(req[6:], unix.NLM_F_REQUEST)
	ne.PutUint32(req[8:], 1) // sequence
	r := req[16:]
	r[0], r[1] = unix.AF_INET, unix.IPPROTO_TCP
	ne.PutUint32(r[4:], 0xffffffff) // every state
	id := r[8:]                     // struct inet_diag_sockid
	binary.BigEndian.PutUint16(id[0:], uint16(remote.Port))
	binary.BigEndian.PutUint16(id[2:], uint16(local.Port))
	copy(id[4:8], remote.IP.To4())
	copy(id[20:24], local.IP.To4())
	ne.PutUint32(id[40:], 0xffffffff) // INET_DIAG_NOCOOKIE
	ne.PutUint32(id[44:], 0xffffffff)
	if err := unix.Sendto(fd, req, 0, &unix.SockaddrNetlink{Family: unix.AF_NETLINK}); err != nil {
		return 0, false
	}
	buf := make([]byte, 4096)
	n, _, err := unix.Recvfrom(fd, buf, 0)
	if err != nil || n < 16+68 {
		return 0, false
	}
	if typ := ne.Uint16(buf[4:]); typ != unix.SOCK_DIAG_BY_FAMILY {
		return 0, false // NLMSG_ERROR: no such socket, or the kernel would not say
	}
	// struct inet_diag_msg: family, state, timer, retrans (4), the socket id (48),
	// expires, rqueue, wqueue (12), then the uid.
	return int(ne.Uint32(buf[16+64:])), true
}

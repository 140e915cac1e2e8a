import CLinux
import Foundation

/// Who may connect to the feed: the relay's own user, root, and members of named groups.
///
/// The socket file is created with mode 0600 as well, but a permission bit is only as good as
/// the directory it sits in; asking the kernel who the peer is (SO_PEERCRED) does not depend on
/// how the file was created.
public struct FeedAccessPolicy: Sendable, Equatable {
    /// Group names whose members may connect.
    public var allowedGroups: [String]

    public init(allowedGroups: [String] = []) {
        self.allowedGroups = allowedGroups
    }

    /// The peer of a connected Unix socket, as the kernel reports it.
    public struct Peer: Sendable, Equatable {
        public var pid: Int32
        public var uid: UInt32
        public var gid: UInt32
    }

    /// Reads the peer's credentials; nil when the kernel does not say.
    public static func peer(of descriptor: Int32) -> Peer? {
        var credentials = clinux_peer_credentials()
        guard clinux_peer_credentials(descriptor, &credentials) == 0 else { return nil }
        return Peer(pid: credentials.pid, uid: credentials.uid, gid: credentials.gid)
    }

    /// Whether the peer may connect; the reason when not.
    public func decide(_ peer: Peer, relayUID: UInt32 = getuid()) -> (allowed: Bool, reason: String)
    {
        if peer.uid == relayUID { return (true, "same user") }
        if peer.uid == 0 { return (true, "root") }
        for name in allowedGroups {
            guard let group = getgrnam(name) else { continue }
            if group.pointee.gr_gid == peer.gid { return (true, "group \(name)") }
            if let user = getpwuid(peer.uid), isMember(user.pointee.pw_name, of: group.pointee) {
                return (true, "group \(name)")
            }
        }
        return (false, "uid \(peer.uid) is neither the relay's user, root, nor in an allowed group")
    }

    private func isMember(_ user: UnsafeMutablePointer<CChar>?, of group: group) -> Bool {
        guard let user, var member = group.gr_mem else { return false }
        while let name = member.pointee {
            if strcmp(name, user) == 0 { return true }
            member += 1
        }
        return false
    }
}

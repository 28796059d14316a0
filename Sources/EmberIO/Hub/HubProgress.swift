import Foundation

/// Where a ``HubClient/snapshot(repoId:revision:include:progress:)`` call stands; the client reports one
/// when a file starts, every ~100 ms while bytes arrive, and when a file is done or found in the cache.
public struct HubProgress: Sendable, Equatable {
    /// What just happened.
    public enum Event: Sendable, Equatable {
        /// The file's transfer begins (`fileBytesDone` > 0 when an earlier `.incomplete` is resumed).
        case started
        /// Bytes arrived.
        case progress
        /// The file was verified and linked into the snapshot.
        case finished
        /// The file was already in the cache; nothing was transferred.
        case cached
    }

    /// The file (path inside the repository).
    public var filename: String
    /// What just happened.
    public var event: Event
    /// Bytes of this file on disk so far.
    public var fileBytesDone: Int64
    /// The file's size in bytes, as the Hub announced it.
    public var fileBytes: Int64
    /// Bytes of all the files this call downloads that are on disk so far (resumed bytes included).
    public var bytesDone: Int64
    /// The size in bytes of all the files this call downloads (files already cached are not counted).
    public var totalBytes: Int64
    /// Bytes received per second since this call's first transfer began (resumed bytes excluded).
    public var bytesPerSecond: Double

    /// A progress report (see the properties).
    public init(filename: String, event: Event, fileBytesDone: Int64, fileBytes: Int64, bytesDone: Int64,
                totalBytes: Int64, bytesPerSecond: Double) {
        self.filename = filename
        self.event = event
        self.fileBytesDone = fileBytesDone
        self.fileBytes = fileBytes
        self.bytesDone = bytesDone
        self.totalBytes = totalBytes
        self.bytesPerSecond = bytesPerSecond
    }

    /// Seconds until all files are done at the current pace (0 when unknown).
    public var secondsLeft: Double {
        bytesPerSecond > 0 ? Double(max(0, totalBytes - bytesDone)) / bytesPerSecond : 0
    }
}

/// The receiver of ``HubProgress`` reports; called from a background queue, one report at a time.
public typealias HubProgressHandler = @Sendable (HubProgress) -> Void

/// Counts the bytes of one snapshot call and turns them into throttled ``HubProgress`` reports.
final class HubProgressMeter: @unchecked Sendable {
    private let lock = NSLock()
    private let handler: HubProgressHandler?
    private let totalBytes: Int64
    private var doneBefore: Int64 = 0
    private var received: Int64 = 0
    private var started: Date?
    private var lastReport = Date.distantPast

    init(totalBytes: Int64, handler: HubProgressHandler?) {
        self.totalBytes = totalBytes
        self.handler = handler
    }

    /// Reports `event` for `filename` with `fileDone` of `fileBytes` on disk. `newBytes` were received just
    /// now; `.progress` reports are sent at most every 100 ms.
    func report(_ filename: String, _ event: HubProgress.Event, fileDone: Int64, fileBytes: Int64, newBytes: Int64 = 0) {
        let progress: HubProgress? = lock.withLock {
            let now = Date()
            if started == nil && event == .started { started = now }
            received += newBytes
            if event == .finished { doneBefore += fileBytes }
            if event == .progress && now.timeIntervalSince(lastReport) < 0.1 { return nil }
            lastReport = now
            let elapsed = started.map { now.timeIntervalSince($0) } ?? 0
            let inFlight = event == .finished || event == .cached ? 0 : fileDone
            return HubProgress(filename: filename, event: event, fileBytesDone: fileDone, fileBytes: fileBytes,
                               bytesDone: doneBefore + inFlight, totalBytes: totalBytes,
                               bytesPerSecond: elapsed > 0 ? Double(received) / elapsed : 0)
        }
        if let progress, let handler { handler(progress) }
    }
}

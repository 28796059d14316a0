import EmberIO
import Foundation
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

extension TrainingRun {
    /// Checks, before any training, that ``writeOutputs(to:includingCheckpoint:)`` will be able to write
    /// into `directory`: it is (or can be created as) a directory, a file can be created in it (not
    /// read-only, not someone else's), and none of the output names is taken by a directory. Without
    /// this a read-only `--output` would fail only after a whole epoch had been trained.
    /// Creates `directory` (with intermediates) when it does not exist; writes nothing else.
    /// - Throws: ``TrainingError/invalidSetting(_:)`` with one sentence naming the path.
    public static func checkOutputDirectory(_ directory: URL) throws(TrainingError) {
        let path = directory.path
        var isDirectory: ObjCBool = false
        if FileManager.default.fileExists(atPath: path, isDirectory: &isDirectory) {
            guard isDirectory.boolValue else { throw .invalidSetting("output '\(path)' is a file, not a directory") }
        } else {
            do { try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true) } catch {
                throw .invalidSetting("cannot create the output directory '\(path)': \(OSErrorText.sentence(error) ?? "\(error)")")
            }
        }
        var template = Array("\(path)/.ember-write-check-XXXXXX".utf8CString)
        let fd = mkstemp(&template)
        guard fd >= 0 else {
            throw .invalidSetting("cannot write into the output directory '\(path)': \(String(cString: strerror(errno)).lowercased())")
        }
        close(fd)
        unlink(template.withUnsafeBufferPointer { String(cString: $0.baseAddress!) })
        for name in [checkpointFileName, logFileName, plotFileName] {
            let file = directory.appendingPathComponent(name).path
            if FileManager.default.fileExists(atPath: file, isDirectory: &isDirectory), isDirectory.boolValue {
                throw .invalidSetting("output '\(file)' is a directory; the run writes a file there")
            }
        }
    }
}

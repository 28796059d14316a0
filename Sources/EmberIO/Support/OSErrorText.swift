import Foundation

/// Foundation's file errors in one plain sentence. On Linux `String(describing:)` of such an error is
/// `Error Domain=NSCocoaErrorDomain Code=642 "(null)" UserInfo={…}`; a person needs "cannot write
/// out/model.pth: the volume is read-only".
public enum OSErrorText {
    /// A sentence for `error` when it is a Cocoa or POSIX error (`CocoaError`, `NSError` of
    /// `NSCocoaErrorDomain` / `NSPOSIXErrorDomain`), naming the file when the error carries one; `nil`
    /// for every other error (which describe themselves).
    public static func sentence(_ error: any Error) -> String? {
        let e = error as NSError
        let path = (e.userInfo[NSFilePathErrorKey] as? String) ?? (e.userInfo[NSURLErrorKey] as? URL)?.path
        let reason: String
        switch e.domain {
        case NSPOSIXErrorDomain:
            reason = String(cString: strerror(Int32(e.code))).lowercased()
        case NSCocoaErrorDomain:
            if let underlying = e.userInfo[NSUnderlyingErrorKey] as? NSError, underlying.domain == NSPOSIXErrorDomain {
                reason = String(cString: strerror(Int32(underlying.code))).lowercased()
            } else {
                reason = cocoaReason(e.code)
            }
        default:
            return nil
        }
        let verb = (512...642).contains(e.code) && e.domain == NSCocoaErrorDomain ? "cannot write" : "cannot read"
        return TerminalText.escaped(path.map { "\(verb) \($0): \(reason)" } ?? "\(verb): \(reason)")
    }

    /// Words for Foundation's file error codes (https://developer.apple.com/documentation/foundation/cocoaerror/code).
    static func cocoaReason(_ code: Int) -> String {
        switch code {
        case 4, 260: return "no such file"
        case 257, 513: return "permission denied"
        case 259, 264: return "the file's format is not understood"
        case 261, 517: return "the text encoding is not supported"
        case 516: return "a file with that name already exists"
        case 640: return "the disk is full"
        case 642: return "the volume is read-only"
        default: return "file error \(code)"
        }
    }
}

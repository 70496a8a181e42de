using System;

namespace TypedRpc.Server;

/// <summary>
/// The handler was cancelled because this delivery's claim could not be confirmed in time: handed
/// to the transport, which delivers the request again (that delivery claims it, waits, or answers
/// Unavailable while the store is down).
/// </summary>
internal sealed class ClaimFencedException() : Exception("The claim could not be renewed in time.");

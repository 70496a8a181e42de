namespace Quickstart;

/// <summary>Calls of one part of the walkthrough that ended with one status other than OK.</summary>
/// <param name="Part">The scene (or warm-up, or the stop after the walkthrough) the calls ended in.</param>
/// <param name="Status">The status they ended with, as the <c>typedrpc.client.calls</c> counter tags it.</param>
/// <param name="Count">How many calls ended so.</param>
/// <param name="Purpose">Why the scene makes calls end so, or <see langword="null"/> when it did not mean to.</param>
public sealed record FailedCalls(string Part, string Status, long Count, string? Purpose);

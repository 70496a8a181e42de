using System;
using System.Globalization;

namespace TypedRpc.Benchmarks.Infrastructure;

internal static class Format
{
    /// <summary>A figure with as many digits as its size deserves, invariant culture.</summary>
    public static string Number(double value)
    {
        if (double.IsNaN(value))
        {
            return "n/a";
        }

        var abs = Math.Abs(value);
        var format = abs >= 1_000 ? "#,0" : abs >= 100 ? "0.#" : abs >= 10 ? "0.##" : "0.###";
        return value.ToString(format, CultureInfo.InvariantCulture);
    }
}

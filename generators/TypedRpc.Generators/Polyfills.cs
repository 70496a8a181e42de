// netstandard2.0 lacks the types that records and init-only setters need.
namespace System.Runtime.CompilerServices
{
    internal static class IsExternalInit
    {
    }
}

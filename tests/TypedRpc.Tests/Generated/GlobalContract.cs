using System.Threading.Tasks;
using TypedRpc;

/// <summary>A contract in the global namespace.</summary>
[AsyncSyncContract("global-ns")]
public interface IGlobalContract
{
    Task<string> HelloAsync(string name);
}

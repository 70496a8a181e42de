using System.Collections.Generic;
using TypedRpc.Generators.Model;
using static TypedRpc.Generators.Emitting.EmitHelpers;

namespace TypedRpc.Generators.Emitting;

/// <summary>
/// Emits <c>{Contract}.Client.g.cs</c>: a sealed proxy that implements the contract by handing each
/// call to an <c>IRpcInvoker</c>. Members are implemented explicitly, so no contract method can
/// clash with the proxy's own members.
/// </summary>
internal static class ClientEmitter
{
    public static string Emit(ContractModel contract)
    {
        var w = Begin(contract);
        var name = contract.TypeNamePrefix + "Client";

        w.WriteLine($"/// <summary>The generated TypedRpc client for <see cref=\"{contract.InterfaceType}\"/>: each call is sent through an <see cref=\"global::TypedRpc.IRpcInvoker\"/>.</summary>");
        w.WriteLine(GeneratedCodeAttribute);
        w.OpenBlock($"{Accessibility(contract)} sealed partial class {name} : {contract.InterfaceType}");
        w.WriteLine("private readonly global::TypedRpc.IRpcInvoker _invoker;");
        w.WriteLine();
        w.WriteLine("/// <summary>Creates the client.</summary>");
        w.WriteLine("/// <param name=\"invoker\">Sends the calls and waits for the replies.</param>");
        w.OpenBlock($"public {name}(global::TypedRpc.IRpcInvoker invoker)");
        w.WriteLine("_invoker = invoker ?? throw new global::System.ArgumentNullException(nameof(invoker));");
        w.CloseBlock();

        foreach (var method in contract.Methods)
        {
            w.WriteLine();
            EmitMethod(w, contract, method);
        }

        w.CloseBlock();
        return End(w, contract);
    }

    private static void EmitMethod(SourceWriter w, ContractModel contract, MethodModel method)
    {
        var signature = new List<string>();
        var arguments = new List<string>();
        var options = "global::TypedRpc.RpcCallOptions.Default";
        var token = "default";
        foreach (var p in method.Parameters)
        {
            signature.Add($"{p.Type} {Identifier(p.Name)}");
            switch (p.Role)
            {
                case ParameterRole.Data:
                    arguments.Add(Identifier(p.Name));
                    break;
                case ParameterRole.CallOptions:
                    options = Identifier(p.Name);
                    break;
                case ParameterRole.CancellationToken:
                    token = Identifier(p.Name);
                    break;
            }
        }

        var argsType = ArgumentsType(contract, method);
        var args = $"new {argsType}({string.Join(", ", arguments)})";
        var descriptor = MethodDescriptor(contract, method);
        var call = method.Kind switch
        {
            ReturnKind.Task => $"_invoker.InvokeNoResultAsync<{argsType}>({descriptor}, {args}, {options}, {token}).AsTask()",
            ReturnKind.ValueTask => $"_invoker.InvokeNoResultAsync<{argsType}>({descriptor}, {args}, {options}, {token})",
            ReturnKind.TaskOfT => $"_invoker.InvokeAsync<{argsType}, {method.ResultType}>({descriptor}, {args}, {options}, {token}).AsTask()",
            ReturnKind.ValueTaskOfT => $"_invoker.InvokeAsync<{argsType}, {method.ResultType}>({descriptor}, {args}, {options}, {token})",
            ReturnKind.TaskOfRpcResult => $"_invoker.InvokeForResultAsync<{argsType}, {method.ResultType}>({descriptor}, {args}, {options}, {token}).AsTask()",
            ReturnKind.ValueTaskOfRpcResult => $"_invoker.InvokeForResultAsync<{argsType}, {method.ResultType}>({descriptor}, {args}, {options}, {token})",
            _ => $"_invoker.InvokeStreaming<{argsType}, {method.ResultType}>({descriptor}, {args}, {options}, {token})",
        };

        w.WriteLine($"{method.ReturnType} {contract.InterfaceType}.{Identifier(method.Name)}({string.Join(", ", signature)})");
        w.WriteLine($"    => {call};");
    }
}

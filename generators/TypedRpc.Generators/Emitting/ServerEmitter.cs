using System.Collections.Generic;
using System.Globalization;
using TypedRpc.Generators.Model;
using static TypedRpc.Generators.Emitting.EmitHelpers;

namespace TypedRpc.Generators.Emitting;

/// <summary>
/// Emits <c>{Contract}.Server.g.cs</c>: the abstract server base class the user derives from
/// (one abstract method per contract method, taking the call context instead of the caller's
/// token and options) and the reflection-free dispatcher behind it.
/// </summary>
internal static class ServerEmitter
{
    public static string Emit(ContractModel contract)
    {
        var w = Begin(contract);
        var baseName = contract.TypeNamePrefix + "Base";
        var dispatcherName = contract.TypeNamePrefix + "Dispatcher";
        var baseType = Generated(contract, "Base");
        var descriptor = DescriptorType(contract);

        w.WriteLine($"/// <summary>The base class of a TypedRpc server for <see cref=\"{contract.InterfaceType}\"/>: derive from it and override every method.</summary>");
        w.WriteLine(GeneratedCodeAttribute);
        w.OpenBlock($"{Accessibility(contract)} abstract partial class {baseName} : global::TypedRpc.IRpcServiceBinding, global::TypedRpc.IRpcServiceDefinition");
        foreach (var method in contract.Methods)
        {
            var parameters = new List<string>();
            foreach (var p in method.Parameters)
            {
                if (p.Role == ParameterRole.Data)
                {
                    parameters.Add($"{p.Type} {Identifier(p.Name)}");
                }
            }

            parameters.Add($"global::TypedRpc.RpcServerCallContext {ContextName(method)}");
            w.WriteLine($"/// <summary>Handles <see cref=\"{contract.InterfaceType}.{method.Name}\"/>.</summary>");
            w.WriteLine($"public abstract {ServerReturnType(method)} {Identifier(method.Name)}({string.Join(", ", parameters)});");
            w.WriteLine();
        }

        w.WriteLine($"static global::TypedRpc.RpcServiceDescriptor global::TypedRpc.IRpcServiceDefinition.ServiceDescriptor => {descriptor}.Service;");
        w.WriteLine();
        w.WriteLine($"global::TypedRpc.RpcServiceDescriptor global::TypedRpc.IRpcServiceBinding.Descriptor => {descriptor}.Service;");
        w.WriteLine();
        w.WriteLine($"global::System.Threading.Tasks.ValueTask global::TypedRpc.IRpcServiceBinding.DispatchAsync(global::TypedRpc.RpcServerCall call) => {Generated(contract, "Dispatcher")}.DispatchAsync(this, call);");
        w.CloseBlock();
        w.WriteLine();

        w.WriteLine($"/// <summary>Routes calls of <see cref=\"{contract.InterfaceType}\"/> to a <see cref=\"{baseType}\"/>: method id → decode arguments → call → reply.</summary>");
        w.WriteLine(GeneratedCodeAttribute);
        w.OpenBlock($"internal static class {dispatcherName}");
        w.WriteLine("/// <summary>Dispatches one call.</summary>");
        w.OpenBlock($"public static global::System.Threading.Tasks.ValueTask DispatchAsync({baseType} service, global::TypedRpc.RpcServerCall call)");
        w.WriteLine("if (service is null) throw new global::System.ArgumentNullException(nameof(service));");
        w.WriteLine("if (call is null) throw new global::System.ArgumentNullException(nameof(call));");
        w.WriteLine("var method = call.Method;");
        w.OpenBlock($"if (!global::System.Object.ReferenceEquals(method.Service, {descriptor}.Service))");
        // Service names are validated to letters, digits, '.', '_' and '-', so they need no escaping.
        w.WriteLine($"throw new global::TypedRpc.RpcException(global::TypedRpc.RpcStatusCode.NotFound, \"Method '\" + method.FullName + \"' does not belong to service '{contract.ServiceName}'.\");");
        w.CloseBlock();
        w.OpenBlock("switch (method.Index)");
        for (var i = 0; i < contract.Methods.Count; i++)
        {
            w.WriteLine($"case {i.ToString(CultureInfo.InvariantCulture)}: return Handle{contract.Methods[i].WireName}Async(service, call);");
        }

        w.WriteLine("default: throw new global::TypedRpc.RpcException(global::TypedRpc.RpcStatusCode.NotFound, \"Unknown method '\" + method.FullName + \"'.\");");
        w.CloseBlock();
        w.CloseBlock();

        foreach (var method in contract.Methods)
        {
            w.WriteLine();
            EmitHandler(w, contract, method, baseType);
        }

        w.CloseBlock();
        return End(w, contract);
    }

    private static void EmitHandler(SourceWriter w, ContractModel contract, MethodModel method, string baseType)
    {
        var arguments = new List<string>();
        var index = 0;
        foreach (var p in method.Parameters)
        {
            if (p.Role == ParameterRole.Data)
            {
                arguments.Add($"args.Arg{index++}");
            }
        }

        arguments.Add("call.Context");
        var invocation = $"service.{Identifier(method.Name)}({string.Join(", ", arguments)})";
        var read = $"var args = {ArgumentsType(contract, method)}.ReadFrom(call.Payload.Span, call.Serializer);";

        if (method.Kind == ReturnKind.AsyncEnumerable)
        {
            w.OpenBlock($"private static global::System.Threading.Tasks.ValueTask Handle{method.WireName}Async({baseType} service, global::TypedRpc.RpcServerCall call)");
            w.WriteLine(read);
            w.WriteLine($"return call.ReplyStreamAsync<{method.ResultType}>({invocation});");
            w.CloseBlock();
            return;
        }

        w.OpenBlock($"private static async global::System.Threading.Tasks.ValueTask Handle{method.WireName}Async({baseType} service, global::TypedRpc.RpcServerCall call)");
        w.WriteLine(read);
        if (method.Kind is ReturnKind.Task or ReturnKind.ValueTask)
        {
            w.WriteLine($"await {invocation}.ConfigureAwait(false);");
            w.WriteLine("await call.ReplyAsync().ConfigureAwait(false);");
        }
        else
        {
            w.WriteLine($"var result = await {invocation}.ConfigureAwait(false);");
            w.WriteLine($"await call.ReplyAsync<{method.ResultType}>(result).ConfigureAwait(false);");
        }

        w.CloseBlock();
    }

    private static string ServerReturnType(MethodModel method) => method.Kind switch
    {
        ReturnKind.Task => "global::System.Threading.Tasks.Task",
        ReturnKind.ValueTask => "global::System.Threading.Tasks.ValueTask",
        ReturnKind.TaskOfT or ReturnKind.TaskOfRpcResult => $"global::System.Threading.Tasks.Task<{method.ResultType}>",
        ReturnKind.ValueTaskOfT or ReturnKind.ValueTaskOfRpcResult => $"global::System.Threading.Tasks.ValueTask<{method.ResultType}>",
        _ => $"global::System.Collections.Generic.IAsyncEnumerable<{method.ResultType}>",
    };

    /// <summary>The context parameter is called <c>context</c> unless a contract parameter already is.</summary>
    private static string ContextName(MethodModel method)
    {
        var candidate = "context";
        for (var attempt = 0; ; attempt++)
        {
            var taken = false;
            foreach (var p in method.Parameters)
            {
                if (p.Role == ParameterRole.Data && p.Name == candidate)
                {
                    taken = true;
                    break;
                }
            }

            if (!taken)
            {
                return candidate;
            }

            candidate = attempt == 0 ? "callContext" : "callContext" + attempt.ToString(CultureInfo.InvariantCulture);
        }
    }
}

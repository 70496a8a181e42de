using System.Collections.Generic;
using System.Globalization;
using TypedRpc.Generators.Model;
using static TypedRpc.Generators.Emitting.EmitHelpers;

namespace TypedRpc.Generators.Emitting;

/// <summary>
/// Emits <c>{Contract}.Contract.g.cs</c>: the descriptor, one argument struct per method (shared
/// by the proxy, which writes it, and the dispatcher, which reads it) and the module initializer
/// that registers the contract.
/// </summary>
internal static class ContractEmitter
{
    public static string Emit(ContractModel contract)
    {
        var w = Begin(contract);
        var access = Accessibility(contract);
        var name = contract.TypeNamePrefix + "Descriptor";

        w.WriteLine($"/// <summary>Describes the TypedRpc contract <see cref=\"{contract.InterfaceType}\"/> (service {Xml(contract.ServiceName)}).</summary>");
        w.WriteLine(GeneratedCodeAttribute);
        w.OpenBlock($"{access} static partial class {name}");

        foreach (var method in contract.Methods)
        {
            var kind = method.Kind switch
            {
                ReturnKind.Task or ReturnKind.ValueTask => "NoResult",
                ReturnKind.AsyncEnumerable => "ServerStreaming",
                _ => "Unary",
            };
            var responseType = method.ResultTypeOf is null ? "null" : $"typeof({method.ResultTypeOf})";
            var returnsResult = method.Kind is ReturnKind.TaskOfRpcResult or ReturnKind.ValueTaskOfRpcResult ? "true" : "false";
            var hasKey = HasKey(method) ? "true" : "false";
            w.WriteLine($"/// <summary>The method <c>{method.Name}</c>.</summary>");
            w.WriteLine($"public static global::TypedRpc.RpcMethodDescriptor {method.WireName}Method {{ get; }} = new global::TypedRpc.RpcMethodDescriptor(");
            w.WriteLine($"    {Index(contract, method)}, {StringLiteral(method.WireName)}, {StringLiteral(method.Name)}, global::TypedRpc.RpcMethodKind.{kind}, {responseType},");
            w.WriteLine($"    timeoutMs: {method.TimeoutMs.ToString(CultureInfo.InvariantCulture)}, extendByMs: {method.ExtendByMs.ToString(CultureInfo.InvariantCulture)}, returnsRpcResult: {returnsResult}, hasKey: {hasKey},");
            w.WriteLine($"    parameters: {ParameterList(method)});");
            w.WriteLine();
        }

        w.WriteLine("/// <summary>The contract's service descriptor.</summary>");
        w.WriteLine("public static global::TypedRpc.RpcServiceDescriptor Service { get; } = new global::TypedRpc.RpcServiceDescriptor(");
        w.WriteLine($"    {StringLiteral(contract.ServiceName)}, typeof({contract.InterfaceType}), {(contract.Topic is null ? "null" : StringLiteral(contract.Topic))}, {contract.DefaultTimeoutMs.ToString(CultureInfo.InvariantCulture)},");
        var methodList = new List<string>();
        foreach (var method in contract.Methods)
        {
            methodList.Add(method.WireName + "Method");
        }

        w.WriteLine($"    new global::TypedRpc.RpcMethodDescriptor[] {{ {string.Join(", ", methodList)} }});");
        w.WriteLine();

        w.WriteLine("/// <summary>Registers the contract with the runtime when the assembly loads, so no reflection is needed to find it.</summary>");
        w.WriteLine("[global::System.Runtime.CompilerServices.ModuleInitializer]");
        w.WriteLine("[global::System.ComponentModel.EditorBrowsable(global::System.ComponentModel.EditorBrowsableState.Never)]");
        w.WriteLine($"internal static void Register() =>");
        w.WriteLine($"    global::TypedRpc.RpcContracts.Register<{contract.InterfaceType}>(Service, static invoker => new {Generated(contract, "Client")}(invoker));");

        foreach (var method in contract.Methods)
        {
            w.WriteLine();
            EmitArguments(w, method);
        }

        w.CloseBlock();
        return End(w, contract);
    }

    private static void EmitArguments(SourceWriter w, MethodModel method)
    {
        var data = new List<ParameterModel>();
        foreach (var p in method.Parameters)
        {
            if (p.Role == ParameterRole.Data)
            {
                data.Add(p);
            }
        }

        var structName = method.WireName + "Arguments";
        w.WriteLine($"/// <summary>The arguments of <c>{method.Name}</c>, written as one JSON object keyed by parameter name.</summary>");
        w.WriteLine(GeneratedCodeAttribute);
        w.OpenBlock($"internal readonly struct {structName} : global::TypedRpc.IRpcArguments");
        for (var i = 0; i < data.Count; i++)
        {
            w.WriteLine($"public readonly {data[i].Type} Arg{i};");
        }

        if (data.Count > 0)
        {
            w.WriteLine();
        }

        var ctorParams = new List<string>();
        foreach (var p in data)
        {
            ctorParams.Add($"{p.Type} {Identifier(p.Name)}");
        }

        w.OpenBlock($"public {structName}({string.Join(", ", ctorParams)})");
        for (var i = 0; i < data.Count; i++)
        {
            w.WriteLine($"this.Arg{i} = {Identifier(data[i].Name)};");
        }

        w.CloseBlock();
        w.WriteLine();

        var key = "null";
        for (var i = 0; i < data.Count; i++)
        {
            key = data[i].Key switch
            {
                KeyFormat.String => $"Arg{i}",
                KeyFormat.Formattable => $"Arg{i}.ToString(null, global::System.Globalization.CultureInfo.InvariantCulture)",
                KeyFormat.Enum => $"Arg{i}.ToString()",
                KeyFormat.Formattable | KeyFormat.Nullable => $"Arg{i}?.ToString(null, global::System.Globalization.CultureInfo.InvariantCulture)",
                KeyFormat.Enum | KeyFormat.Nullable => $"Arg{i}?.ToString()",
                _ => key,
            };
        }

        w.WriteLine($"public string? Key => {key};");
        w.WriteLine();

        w.OpenBlock("public void WriteTo(global::System.Text.Json.Utf8JsonWriter writer, global::TypedRpc.IRpcSerializer serializer)");
        EmitWriteTo(w, data);
        w.CloseBlock();
        w.WriteLine();

        w.WriteLine("/// <summary>Reads the argument object; every problem is an <see cref=\"global::TypedRpc.RpcException\"/> with InvalidArgument.</summary>");
        w.OpenBlock($"public static {structName} ReadFrom(global::System.ReadOnlySpan<byte> payload, global::TypedRpc.IRpcSerializer serializer)");
        w.WriteLine("var reader = global::TypedRpc.RpcArgumentsReader.Begin(payload);");
        for (var i = 0; i < data.Count; i++)
        {
            w.WriteLine($"{data[i].Type} value{i} = default!;");
            w.WriteLine($"bool seen{i} = false;");
        }

        w.OpenBlock("while (global::TypedRpc.RpcArgumentsReader.NextProperty(ref reader))");
        for (var i = 0; i < data.Count; i++)
        {
            w.OpenBlock($"{(i == 0 ? "if" : "else if")} (reader.ValueTextEquals({StringLiteral(data[i].Name)}u8))");
            w.WriteLine($"value{i} = global::TypedRpc.RpcArgumentsReader.ReadValue<{data[i].Type}>(ref reader, serializer, {StringLiteral(data[i].Name)}, ref seen{i})!;");
            w.CloseBlock();
        }

        if (data.Count == 0)
        {
            w.WriteLine("// Unknown arguments (from a newer caller) are skipped.");
            w.WriteLine("global::TypedRpc.RpcArgumentsReader.SkipValue(ref reader);");
        }
        else
        {
            w.OpenBlock("else");
            w.WriteLine("// Unknown arguments (from a newer caller) are skipped.");
            w.WriteLine("global::TypedRpc.RpcArgumentsReader.SkipValue(ref reader);");
            w.CloseBlock();
        }

        w.CloseBlock();

        for (var i = 0; i < data.Count; i++)
        {
            var p = data[i];
            if (p.DefaultValue is not null)
            {
                w.WriteLine($"if (!seen{i}) value{i} = {p.DefaultValue};");
            }
            else if (!p.IsOptional)
            {
                w.WriteLine($"if (!seen{i}) throw global::TypedRpc.RpcArgumentsReader.Missing({StringLiteral(p.Name)});");
            }

            if (p.RejectsNull)
            {
                w.WriteLine($"if (value{i} is null) throw global::TypedRpc.RpcArgumentsReader.Null({StringLiteral(p.Name)});");
            }
        }

        var values = new List<string>();
        for (var i = 0; i < data.Count; i++)
        {
            values.Add("value" + i);
        }

        w.WriteLine($"return new {structName}({string.Join(", ", values)});");
        w.CloseBlock();
        w.CloseBlock();
    }

    /// <summary>The <c>parameters:</c> argument: the data parameters' names and types, for the runtime's start-up check of the serializer.</summary>
    private static string ParameterList(MethodModel method)
    {
        var items = new List<string>();
        foreach (var p in method.Parameters)
        {
            if (p.Role == ParameterRole.Data)
            {
                items.Add($"new global::TypedRpc.RpcParameterDescriptor({StringLiteral(p.Name)}, typeof({p.TypeOf}))");
            }
        }

        return items.Count == 0
            ? "global::System.Array.Empty<global::TypedRpc.RpcParameterDescriptor>()"
            : $"new global::TypedRpc.RpcParameterDescriptor[] {{ {string.Join(", ", items)} }}";
    }

    private static bool HasKey(MethodModel method)
    {
        foreach (var p in method.Parameters)
        {
            if (p.Key != KeyFormat.None)
            {
                return true;
            }
        }

        return false;
    }

    private static string Index(ContractModel contract, MethodModel method)
    {
        for (var i = 0; i < contract.Methods.Count; i++)
        {
            if (ReferenceEquals(contract.Methods[i], method))
            {
                return i.ToString(CultureInfo.InvariantCulture);
            }
        }

        return "-1";
    }

    internal static string Xml(string text) => text.Replace("&", "&amp;").Replace("<", "&lt;").Replace(">", "&gt;").Replace("\"", "&quot;");

    /// <summary>
    /// The body of <c>WriteTo</c>. A failure is rethrown naming the argument being written (and, for
    /// a NaN or infinity, saying JSON cannot carry it): the serializer's own text names neither.
    /// Tracking the argument costs an int store per argument and nothing more on success.
    /// </summary>
    private static void EmitWriteTo(SourceWriter w, List<ParameterModel> data)
    {
        if (data.Count == 0)
        {
            w.WriteLine("writer.WriteStartObject();");
            w.WriteLine("writer.WriteEndObject();");
            return;
        }

        if (data.Count > 1)
        {
            w.WriteLine("var current = 0;");
        }

        w.OpenBlock("try");
        w.WriteLine("writer.WriteStartObject();");
        for (var i = 0; i < data.Count; i++)
        {
            if (i > 0)
            {
                w.WriteLine($"current = {i.ToString(CultureInfo.InvariantCulture)};");
            }

            w.WriteLine($"writer.WritePropertyName({StringLiteral(data[i].Name)}u8);");
            w.WriteLine($"serializer.Serialize<{data[i].Type}>(writer, Arg{i});");
        }

        w.WriteLine("writer.WriteEndObject();");
        w.CloseBlock();
        w.OpenBlock("catch (global::System.Exception ex)");
        if (data.Count == 1)
        {
            w.WriteLine($"throw {Failed(data[0], 0)};");
        }
        else
        {
            w.WriteLine("throw current switch");
            w.OpenBrace();
            for (var i = 0; i < data.Count; i++)
            {
                w.WriteLine($"{(i < data.Count - 1 ? i.ToString(CultureInfo.InvariantCulture) : "_")} => {Failed(data[i], i)},");
            }

            w.CloseBlock(";");
        }

        w.CloseBlock();

        static string Failed(ParameterModel p, int i) =>
            $"global::TypedRpc.RpcArgumentsWriter.Failed<{p.Type}>({StringLiteral(p.Name)}, Arg{i}, ex)";
    }
}

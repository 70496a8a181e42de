using System.Linq;
using Microsoft.CodeAnalysis;
using TypedRpc.Generators.Tests.Infrastructure;
using Xunit;

namespace TypedRpc.Generators.Tests;

/// <summary>One test per diagnostic: its id, the exact span it is reported at, and its message.</summary>
public sealed class DiagnosticTests
{
    private const string Usings = "using System; using System.Collections.Generic; using System.Threading; using System.Threading.Tasks; using TypedRpc;\n";

    [Fact]
    public void TRPC0001_AttributeOnAClass() => Expect("TRPC0001",
        "[AsyncSyncContract(\"svc\")] public class [|NotAnInterface|] { }",
        "[AsyncSyncContract] is on class 'NotAnInterface'; a contract must be an interface");

    [Fact]
    public void TRPC0001_AttributeOnARecordStruct() => Expect("TRPC0001",
        "[AsyncSyncContract(\"svc\")] public record struct [|Point|](int X);",
        "[AsyncSyncContract] is on record struct 'Point'; a contract must be an interface");

    [Fact]
    public void TRPC0002_GenericContract() => Expect("TRPC0002",
        "[AsyncSyncContract(\"svc\")] public interface [|IRepo|]<T> { Task<int> CountAsync(); }",
        "Contract 'IRepo' is generic, or nested in a generic type; a contract must be a non-generic interface");

    [Fact]
    public void TRPC0002_ContractNestedInAGenericType() => Expect("TRPC0002",
        "public class Outer<T> { [AsyncSyncContract(\"svc\")] public interface [|IInner|] { Task PingAsync(); } }",
        "Contract 'IInner' is generic, or nested in a generic type; a contract must be a non-generic interface");

    [Fact]
    public void TRPC0003_GenericMethod() => Expect("TRPC0003",
        "[AsyncSyncContract(\"svc\")] public interface IRepo { Task<T> [|GetAsync|]<T>(string id); }",
        "Method 'GetAsync' is generic; contract methods must not have type parameters");

    [Theory]
    [InlineData("ref int [|x|]", "x", "ref")]
    [InlineData("[|out int x|]", "x", "out")]
    [InlineData("[|in int x|]", "x", "in")]
    [InlineData("[|params int[] x|]", "x", "params")]
    [InlineData("[|ref readonly int x|]", "x", "ref readonly")]
    public void TRPC0004_ParameterModifiers(string parameter, string name, string modifier)
    {
        // The span is the whole parameter; normalise the markup for the ref case.
        var markup = parameter.StartsWith("[|") ? parameter : "[|" + parameter.Replace("[|", "").Replace("|]", "") + "|]";
        Expect("TRPC0004",
            $"[AsyncSyncContract(\"svc\")] public interface IApi {{ Task RunAsync({markup}); }}",
            $"Parameter '{name}' of method 'RunAsync' is declared '{modifier}'; contract parameters are passed by value only");
    }

    [Fact]
    public void TRPC0005_SpanParameter() => Expect("TRPC0005",
        "[AsyncSyncContract(\"svc\")] public interface IApi { Task RunAsync([|ReadOnlySpan<byte> data|]); }",
        "Type 'System.ReadOnlySpan<byte>' of parameter 'data' cannot be serialized: ref struct types such as Span<T> cannot be stored or sent; use an array or a collection");

    [Fact]
    public void TRPC0005_PointerParameter() => Expect("TRPC0005",
        "[AsyncSyncContract(\"svc\")] public unsafe interface IApi { Task RunAsync([|int* data|]); }",
        "Type 'int*' of parameter 'data' cannot be serialized: pointers cannot be sent");

    [Fact]
    public void TRPC0005_DelegateResult() => Expect("TRPC0005",
        "[AsyncSyncContract(\"svc\")] public interface IApi { [|Task<Func<int>>|] MakeAsync(); }",
        "Type 'System.Func<int>' of the result of method 'MakeAsync' cannot be serialized: delegates cannot be sent");

    [Fact]
    public void TRPC0005_TaskAsData() => Expect("TRPC0005",
        "[AsyncSyncContract(\"svc\")] public interface IApi { Task RunAsync([|List<Task<int>> work|]); }",
        "Type 'System.Collections.Generic.List<System.Threading.Tasks.Task<int>>' of parameter 'work' cannot be serialized: tasks, streams, cancellation tokens, call options and results are call shapes, not data");

    [Theory]
    [InlineData("void", "void")]
    [InlineData("int", "int")]
    [InlineData("IEnumerable<int>", "System.Collections.Generic.IEnumerable<int>")]
    [InlineData("IAsyncEnumerable<RpcResult<int>>", "System.Collections.Generic.IAsyncEnumerable<TypedRpc.RpcResult<int>>")]
    public void TRPC0006_UnsupportedReturnTypes(string returnType, string display) => Expect("TRPC0006",
        $"[AsyncSyncContract(\"svc\")] public interface IApi {{ [|{returnType}|] Run(); }}",
        $"Method 'Run' returns '{display}'; a contract method returns Task, Task<T>, ValueTask, ValueTask<T>, Task<RpcResult<T>>, ValueTask<RpcResult<T>> or IAsyncEnumerable<T>");

    [Fact]
    public void TRPC0007_Overloads() => Expect("TRPC0007",
        "[AsyncSyncContract(\"svc\")] public interface IApi { Task<int> GetAsync(string id); Task<int> [|GetAsync|](Guid id); }",
        "Method 'GetAsync' has the wire name 'Get', already used by another method of contract 'IApi'; method names identify methods on the wire, so overloads are not allowed");

    [Fact]
    public void TRPC0007_SameWireNameWithAndWithoutAsync() => Expect("TRPC0007",
        "[AsyncSyncContract(\"svc\")] public interface IApi { Task<int> Get(string id); Task<int> [|GetAsync|](string id); }",
        "Method 'GetAsync' has the wire name 'Get', already used by another method of contract 'IApi'; method names identify methods on the wire, so overloads are not allowed");

    [Theory]
    [InlineData("int [|Count|] { get; }", "property", "Count")]
    [InlineData("event EventHandler [|Changed|];", "event", "Changed")]
    [InlineData("int [|this|][int i] { get; }", "indexer", "this[]")]
    public void TRPC0008_NonMethodMembers(string member, string kind, string name) => Expect("TRPC0008",
        $"[AsyncSyncContract(\"svc\")] public interface IApi {{ {member} }}",
        $"Contract 'IApi' declares the {kind} '{name}'; a contract declares methods only");

    [Fact]
    public void TRPC0009_StaticMember() => Expect("TRPC0009",
        "[AsyncSyncContract(\"svc\")] public interface IApi { static Task [|HelperAsync|]() => Task.CompletedTask; }",
        "Method 'HelperAsync' is static; contract methods must be abstract instance methods without a body");

    [Fact]
    public void TRPC0009_DefaultImplementedMember() => Expect("TRPC0009",
        "[AsyncSyncContract(\"svc\")] public interface IApi { Task [|PingAsync|]() => Task.CompletedTask; }",
        "Method 'PingAsync' is default-implemented (it has a body); contract methods must be abstract instance methods without a body");

    [Fact]
    public void TRPC0010_TwoCancellationTokens() => Expect("TRPC0010",
        "[AsyncSyncContract(\"svc\")] public interface IApi { Task RunAsync(CancellationToken a, [|CancellationToken b|]); }",
        "Method 'RunAsync' takes more than one CancellationToken; a method may take one CancellationToken, as its last parameter");

    [Fact]
    public void TRPC0010_CancellationTokenNotLast() => Expect("TRPC0010",
        "[AsyncSyncContract(\"svc\")] public interface IApi { Task RunAsync([|CancellationToken ct|], int x); }",
        "Method 'RunAsync' has a CancellationToken that is not its last parameter; a method may take one CancellationToken, as its last parameter");

    [Fact]
    public void TRPC0011_TwoKeys() => Expect("TRPC0011",
        "[AsyncSyncContract(\"svc\")] public interface IApi { Task RunAsync([RpcKey] string a, [[|RpcKey|]] string b); }",
        "Method 'RunAsync' has more than one [RpcKey] parameter; at most one parameter can be the record key");

    [Theory]
    [InlineData("[RpcKey] decimal amount", "amount", "decimal")]
    [InlineData("[RpcKey] double ratio", "ratio", "double")]
    [InlineData("[RpcKey] decimal? amount", "amount", "decimal?")]
    [InlineData("[RpcKey] CancellationToken ct", "ct", "System.Threading.CancellationToken")]
    public void TRPC0012_UnsupportedKeyTypes(string parameter, string name, string type) => Expect("TRPC0012",
        $"[AsyncSyncContract(\"svc\")] public interface IApi {{ Task RunAsync([|{parameter}|]); }}",
        $"[RpcKey] parameter '{name}' has type '{type}'; the key must be a string, Guid, integer or enum");

    [Theory]
    [InlineData("RpcTimeout(0)", "RunAsync", "a timeout of 0 ms; it must be greater than zero")]
    [InlineData("RpcTimeout(-5)", "RunAsync", "a timeout of -5 ms; it must be greater than zero")]
    [InlineData("RpcTimeout(100, ExtendByMs = -1)", "RunAsync", "ExtendByMs = -1; it must be zero or greater")]
    [InlineData("RpcTimeout(int.MaxValue, ExtendByMs = 1)", "RunAsync", "a timeout plus extension longer than int.MaxValue ms")]
    public void TRPC0013_InvalidMethodTimeouts(string attribute, string owner, string problem) => Expect("TRPC0013",
        $"[AsyncSyncContract(\"svc\")] public interface IApi {{ [[|{attribute}|]] Task RunAsync(); }}",
        $"[RpcTimeout] on '{owner}' has {problem}");

    [Fact]
    public void TRPC0013_ExtensionOnTheContract() => Expect("TRPC0013",
        "[AsyncSyncContract(\"svc\")] [[|RpcTimeout(1000, ExtendByMs = 5)|]] public interface IApi { Task RunAsync(); }",
        "[RpcTimeout] on 'IApi' has ExtendByMs on the contract; set the extension on each method that needs it");

    [Fact]
    public void TRPC0014_DuplicateServiceNames()
    {
        var diagnostics = RunAndFind("TRPC0014",
            "[AsyncSyncContract(\"orders\")] public interface IOrders { Task PingAsync(); }",
            "[[|AsyncSyncContract(\"orders\")|]] public interface IOrdersV2 { Task PingAsync(); }");
        Assert.Equal("Service name 'orders' of contract 'IOrdersV2' is also used by contract 'IOrders'; each contract needs its own service name and request topic (Kafka treats '.' and '_' in topic names alike)", diagnostics.GetMessage());
    }

    [Fact]
    public void TRPC0014_ServiceNamesThatKafkaConfuses()
    {
        var diagnostic = RunAndFind("TRPC0014",
            "[AsyncSyncContract(\"orders.v1\")] public interface IOrders { Task PingAsync(); }",
            "[[|AsyncSyncContract(\"orders_v1\")|]] public interface IOrdersV2 { Task PingAsync(); }");
        Assert.StartsWith("Service name 'orders_v1' of contract 'IOrdersV2' is also used by contract 'IOrders'", diagnostic.GetMessage());
    }

    [Fact]
    public void TRPC0014_TwoContractsOnOneRequestTopic()
    {
        var diagnostic = RunAndFind("TRPC0014",
            "[AsyncSyncContract(\"a\", Topic = \"shared\")] public interface IA { Task PingAsync(); }",
            "[[|AsyncSyncContract(\"b\", Topic = \"shared\")|]] public interface IB { Task PingAsync(); }");
        Assert.StartsWith("Request topic 'shared' of contract 'IB' is also used by contract 'IA'", diagnostic.GetMessage());
    }

    [Fact]
    public void TRPC0021_GeneratedNameTakenByAUserType() => Expect("TRPC0021",
        "public sealed class FooClient { } [AsyncSyncContract(\"svc\")] public interface [|IFoo|] { Task PingAsync(); }",
        "Contract 'IFoo' would generate 'FooClient', which is already a type declared in this compilation; rename the interface (or the other type)");

    [Fact]
    public void TRPC0021_TwoContractsGeneratingTheSameNames()
    {
        var diagnostic = RunAndFind("TRPC0021",
            "public static class Outer { [AsyncSyncContract(\"a\")] public interface IBar { Task PingAsync(); } }",
            "[[|AsyncSyncContract(\"b\")|]] public interface IOuterBar { Task PingAsync(); }");
        Assert.Equal("Contract 'IOuterBar' would generate 'OuterBarClient', which is already generated for contract 'Outer.IBar'; rename the interface (or the other type)", diagnostic.GetMessage());
    }

    [Fact]
    public void TRPC0018_FileLocalContract() => Expect("TRPC0018",
        "[AsyncSyncContract(\"svc\")] file interface [|IHidden|] { Task RunAsync(); }",
        "Contract 'IHidden' is file-local; generated proxies and server bases need a public or internal interface");

    [Fact]
    public void ProtectedInternalContracts_AreGeneratedAsInternal()
    {
        var (result, output, diagnostics) = GeneratorHarness.Run(Usings + "public class Host { [AsyncSyncContract(\"svc\")] protected internal interface IInner { Task<int> GetAsync([RpcKey] int? id, [RpcKey(/*only one*/)] Guid? other = null); } }");
        Assert.Contains(diagnostics, d => d.Id == "TRPC0011");
        var (result2, output2, diagnostics2) = GeneratorHarness.Run(Usings + "public class Host { [AsyncSyncContract(\"svc\")] protected internal interface IInner { Task<int> GetAsync([RpcKey] int? id, Region? r); } public enum Region { A } }");
        Assert.Empty(diagnostics2);
        Assert.Empty(GeneratorHarness.CompilerProblems(output2));
        Assert.Contains("internal sealed partial class HostInnerClient", GeneratorHarness.Sources(result2)["Host.IInner.Client.g.cs"]);
        Assert.Contains("Key => Arg0?.ToString(null, global::System.Globalization.CultureInfo.InvariantCulture);", GeneratorHarness.Sources(result2)["Host.IInner.Contract.g.cs"]);
    }

    [Fact]
    public void TRPC0019_WarnsForObjectInsideCollectionsToo()
    {
        var (_, _, diagnostics) = GeneratorHarness.Run(Usings + "[AsyncSyncContract(\"svc\")] public interface IApi { Task RunAsync(Dictionary<string, object> bag); }");
        Assert.Equal("TRPC0019", Assert.Single(diagnostics).Id);
    }

    [Theory]
    [InlineData("\"\"", "", "it is empty")]
    [InlineData("\"  \"", "  ", "it is empty")]
    [InlineData("\"pricing service\"", "pricing service", "' ' is not allowed; use letters, digits, '.', '_' or '-'")]
    [InlineData("\"pricing/v1\"", "pricing/v1", "'/' is not allowed; use letters, digits, '.', '_' or '-'")]
    [InlineData("null", "", "it is empty")]
    [InlineData("\"..\"", "..", "'.' and '..' cannot name Kafka topics")]
    public void TRPC0015_InvalidServiceNames(string literal, string name, string problem) => Expect("TRPC0015",
        $"[[|AsyncSyncContract({literal})|]] public interface IApi {{ Task RunAsync(); }}",
        $"Service name '{name}' of contract 'IApi' is invalid: {problem}");

    [Fact]
    public void TRPC0015_TooLongServiceName() => Expect("TRPC0015",
        $"[[|AsyncSyncContract(\"{new string('s', 201)}\")|]] public interface IApi {{ Task RunAsync(); }}",
        $"Service name '{new string('s', 201)}' of contract 'IApi' is invalid: it is 201 characters long; the limit is 200");

    [Theory]
    [InlineData("..", "Kafka does not allow '.' or '..' as topic names")]
    [InlineData("a b", "' ' is not allowed; use letters, digits, '.', '_' or '-'")]
    public void TRPC0016_InvalidTopics(string topic, string problem) => Expect("TRPC0016",
        $"[[|AsyncSyncContract(\"svc\", Topic = \"{topic}\")|]] public interface IApi {{ Task RunAsync(); }}",
        $"Topic '{topic}' of contract 'IApi' is invalid: {problem}");

    [Fact]
    public void TRPC0017_TwoCallOptions() => Expect("TRPC0017",
        "[AsyncSyncContract(\"svc\")] public interface IApi { Task RunAsync(RpcCallOptions a, [|RpcCallOptions b|]); }",
        "Method 'RunAsync' has more than one RpcCallOptions parameter");

    [Fact]
    public void TRPC0018_PrivateNestedContract() => Expect("TRPC0018",
        "public class Host { [AsyncSyncContract(\"svc\")] private interface [|IHidden|] { Task RunAsync(); } }",
        "Contract 'IHidden' is private; generated proxies and server bases need a public or internal interface");

    [Fact]
    public void TRPC0018_ContractInsideAPrivateType() => Expect("TRPC0018",
        "public class Host { private static class Inner { [AsyncSyncContract(\"svc\")] public interface [|IHidden|] { Task RunAsync(); } } }",
        "Contract 'IHidden' is nested in private type 'Inner'; generated proxies and server bases need a public or internal interface");

    [Fact]
    public void TRPC0019_ObjectParameterIsAWarning_AndTheContractIsStillGenerated()
    {
        var (source, span) = Markup.Parse(Usings + "[AsyncSyncContract(\"svc\")] public interface IApi { Task RunAsync([|object payload|]); }");
        var (result, output, diagnostics) = GeneratorHarness.Run(source);

        var diagnostic = Assert.Single(diagnostics);
        Assert.Equal("TRPC0019", diagnostic.Id);
        Assert.Equal(DiagnosticSeverity.Warning, diagnostic.Severity);
        Assert.Equal(span, diagnostic.Location.SourceSpan);
        Assert.Equal("Type 'object' of parameter 'payload' is serialized as its runtime shape and read back as a JSON element; use a concrete type", diagnostic.GetMessage());
        Assert.Equal(3, GeneratorHarness.Sources(result).Count);
        Assert.Empty(GeneratorHarness.CompilerProblems(output));
    }

    [Fact]
    public void TRPC0020_InheritedInterface() => Expect("TRPC0020",
        "public interface IBase { Task PingAsync(); } [AsyncSyncContract(\"svc\")] public interface IApi [|: IBase|] { Task RunAsync(); }",
        "Contract 'IApi' inherits 'IBase'; a contract declares all its methods itself");

    [Fact]
    public void EveryDescriptor_HasAnIdInTheCatalogAndAHelpLink()
    {
        var descriptors = typeof(DiagnosticDescriptors).GetFields()
            .Select(f => (DiagnosticDescriptor)f.GetValue(null)!)
            .ToArray();

        Assert.Equal(22, descriptors.Length);
        Assert.Equal(descriptors.Length, descriptors.Select(d => d.Id).Distinct().Count());
        Assert.All(descriptors, d =>
        {
            Assert.Matches("^TRPC00[0-9]{2}$", d.Id);
            Assert.Equal("TypedRpc", d.Category);
            Assert.EndsWith("docs/diagnostics.md#" + d.Id.ToLowerInvariant(), d.HelpLinkUri);
        });
    }

    [Fact]
    public void PragmaSuppresses_AWarning()
    {
        var (_, output, diagnostics) = GeneratorHarness.Run(Usings + """
            [AsyncSyncContract("svc")]
            public interface IApi
            {
            #pragma warning disable TRPC0019
                Task RunAsync(object payload);
            #pragma warning restore TRPC0019
                Task OtherAsync(object payload);
            }
            """);

        // The generator reports both; the pragma suppresses only the first, as the compiler would.
        Assert.Equal(2, diagnostics.Length);
        Assert.True(CompilationWithAnalyzersShim.ApplySuppressions(output, diagnostics[0]).IsSuppressed);
        Assert.False(CompilationWithAnalyzersShim.ApplySuppressions(output, diagnostics[1]).IsSuppressed);
    }

    [Fact]
    public void PragmaSuppresses_AnError()
    {
        var (_, output, diagnostics) = GeneratorHarness.Run(Usings + """
            #pragma warning disable TRPC0001
            [AsyncSyncContract("svc")] public class NotAnInterface { }
            #pragma warning restore TRPC0001
            """);

        var reported = Assert.Single(diagnostics);
        Assert.Equal("TRPC0001", reported.Id);
        Assert.True(CompilationWithAnalyzersShim.ApplySuppressions(output, reported).IsSuppressed);
    }

    [Fact]
    public void AnInvalidContract_GeneratesNothing_AndAValidOneBesideItStillGenerates()
    {
        var (result, _, diagnostics) = GeneratorHarness.Run(Usings + """
            [AsyncSyncContract("bad")] public interface IBad { void Run(); }
            [AsyncSyncContract("good")] public interface IGood { Task RunAsync(); }
            """);

        Assert.Equal("TRPC0006", Assert.Single(diagnostics).Id);
        Assert.All(GeneratorHarness.Sources(result).Keys, k => Assert.StartsWith("IGood.", k));
    }

    private static void Expect(string id, string markup, string message)
    {
        var diagnostic = RunAndFind(id, markup);
        Assert.Equal(message, diagnostic.GetMessage());
    }

    private static Diagnostic RunAndFind(string id, params string[] markups)
    {
        var sources = new string[markups.Length];
        Microsoft.CodeAnalysis.Text.TextSpan? span = null;
        var spanFile = -1;
        for (var i = 0; i < markups.Length; i++)
        {
            var text = Usings + markups[i];
            if (text.Contains("[|"))
            {
                (sources[i], var s) = Markup.Parse(text);
                span = s;
                spanFile = i;
            }
            else
            {
                sources[i] = text;
            }
        }

        var compilation = GeneratorHarness.CreateCompilation(sources).WithOptions(GeneratorHarness.CreateCompilation().Options.WithAllowUnsafe(true));
        var (_, _, diagnostics) = GeneratorHarness.Run(compilation);
        var matching = diagnostics.Where(d => d.Id == id).ToArray();
        var diagnostic = Assert.Single(matching);
        Assert.Equal(DiagnosticSeverity.Error, diagnostic.Severity);
        Assert.Equal($"File{spanFile}.cs", diagnostic.Location.SourceTree?.FilePath);
        Assert.Equal(span, diagnostic.Location.SourceSpan);
        Assert.All(diagnostics, d => Assert.StartsWith("TRPC", d.Id));
        return diagnostic;
    }
}

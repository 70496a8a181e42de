using System;
using System.Collections.Generic;
using System.Text;
using System.Text.Json;
using System.Text.Json.Serialization;
using System.Threading;
using System.Threading.Tasks;
using Microsoft.Extensions.DependencyInjection;
using TypedRpc.Hosting;
using TypedRpc.Serialization;
using Xunit;

// TRPC0022 checks a project's JSON contexts against every contract it registers, as one
// application; this assembly is many hosts, and these tests register deliberately incomplete
// contexts (the start-up check is what they test). The warning is reported at their calls.
#pragma warning disable TRPC0022

namespace TypedRpc.Tests.Engine;

/// <summary>
/// Payloads through a source-generated JSON context (UseJsonContext): the same JSON as the
/// reflection-based default, and a start that fails naming each contract type the context lacks.
/// </summary>
public sealed class JsonContextTests
{
    [Fact]
    public async Task CallsAndStreams_GoThroughTheRegisteredContext()
    {
        await using var provider = Build(b => b.UseJsonContext(QuoteJsonContext.Default));
        var runtime = provider.GetRequiredService<TypedRpcRuntime>();
        await runtime.StartAsync(CancellationToken.None);
        Assert.IsType<JsonRpcSerializer>(provider.GetRequiredService<IRpcSerializer>());
        var client = provider.GetRequiredService<INumbersService>();

        Assert.Equal(7.5, await client.PriceAsync(2.5, 3f, new PriceQuote("sku", 1), replyNaN: false));
        Assert.Equal(-4, await client.NegateAsync(4)); // double: a primitive the context does not list
        var quotes = new List<PriceQuote>();
        await foreach (var quote in client.QuotesAsync(3, nanAt: -1))
        {
            quotes.Add(quote);
        }

        Assert.Equal([new("sku-0", 0), new("sku-1", 1), new("sku-2", 2)], quotes);
        await runtime.StopAsync(CancellationToken.None);
    }

    [Fact]
    public void TheContextsJson_IsTheReflectionDefaults_WhateverOptionsTheContextWasGeneratedWith()
    {
        // QuoteJsonContext keeps C# property names; the wire must not depend on that, or an AOT
        // instance and a JIT instance of one cluster would not understand each other.
        var fromContext = Write(JsonRpcSerializer.FromContexts(QuoteJsonContext.Default), new PriceQuote("a", 1.5));
#pragma warning disable IL2026, IL3050 // The reflection-based default, compared against.
        var byDefault = Write(new JsonRpcSerializer(), new PriceQuote("a", 1.5));
#pragma warning restore IL2026, IL3050
        Assert.Equal("{\"sku\":\"a\",\"amount\":1.5}", fromContext);
        Assert.Equal(byDefault, fromContext);

        // And reads are case-insensitive, as the default's.
        var reader = new Utf8JsonReader("{\"SKU\":\"b\",\"Amount\":2}"u8);
        reader.Read();
        Assert.Equal(new PriceQuote("b", 2), JsonRpcSerializer.FromContexts(QuoteJsonContext.Default).Deserialize<PriceQuote>(ref reader));
    }

    [Fact]
    public async Task Start_Fails_NamingEachTypeTheContextLacks_AndWhereTheContractUsesIt()
    {
        await using var provider = Build(b => b.UseJsonContext(EmptyJsonContext.Default));
        var runtime = provider.GetRequiredService<TypedRpcRuntime>();

        var error = await Assert.ThrowsAsync<InvalidOperationException>(() => runtime.StartAsync(CancellationToken.None));

        Assert.Contains("TypedRpc.Tests.Engine.PriceQuote (parameter 'quote' of numbers/Price, the stream items of numbers/Quotes)", error.Message);
        Assert.DoesNotContain("System.Double", error.Message); // primitives are covered
        Assert.Contains("UseJsonContext", error.Message);
    }

    [Fact]
    public async Task ASecondContext_AddsItsTypes()
    {
        await using var provider = Build(b => b.UseJsonContext(EmptyJsonContext.Default).UseJsonContext(QuoteJsonContext.Default));
        var runtime = provider.GetRequiredService<TypedRpcRuntime>();
        await runtime.StartAsync(CancellationToken.None);

        Assert.Equal(2, await provider.GetRequiredService<INumbersService>().PriceAsync(1, 2f, new PriceQuote("x", 0), replyNaN: false));
        await runtime.StopAsync(CancellationToken.None);
    }

    [Fact]
    public void CanSerialize_SaysWhichTypesTheContextsCover()
    {
        var serializer = JsonRpcSerializer.FromContexts(QuoteJsonContext.Default);
        Assert.True(serializer.CanSerialize(typeof(PriceQuote)));
        Assert.True(serializer.CanSerialize(typeof(Guid?)));
        Assert.False(serializer.CanSerialize(typeof(Uri[])));
        Assert.Throws<ArgumentException>(() => JsonRpcSerializer.FromContexts());
    }

    private static ServiceProvider Build(Action<ITypedRpcBuilder> configure)
    {
        var services = new ServiceCollection();
        services.AddSingleton<TestState>();
        var builder = services.AddTypedRpc(o => o.InstanceId = "json-context")
            .UseInMemoryTransport()
            .UseInMemoryOwnershipStore()
            .AddServer<NumbersService>()
            .AddClient<INumbersService>();
        configure(builder);
        return services.BuildServiceProvider();
    }

    private static string Write<T>(IRpcSerializer serializer, T value)
    {
        var buffer = new System.Buffers.ArrayBufferWriter<byte>();
        using (var writer = new Utf8JsonWriter(buffer))
        {
            serializer.Serialize(writer, value);
        }

        return Encoding.UTF8.GetString(buffer.WrittenSpan);
    }
}

/// <summary>A context generated with C# property names (no web defaults).</summary>
[JsonSerializable(typeof(PriceQuote))]
internal sealed partial class QuoteJsonContext : JsonSerializerContext;

/// <summary>A context without the contract's types.</summary>
[JsonSerializable(typeof(DayOfWeek))]
internal sealed partial class EmptyJsonContext : JsonSerializerContext;

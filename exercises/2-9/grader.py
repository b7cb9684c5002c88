"""Grader of exercise 2-9: a chat server for many users."""
import os
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "grader"))
import kit  # noqa: E402
from multichat import users  # noqa: E402

grader = kit.Grader("2-9", "a chat server for many users")


@grader.check("a line reaches everyone else")
def _(ctx):
    s = ctx.start_server()
    alice, bob, carol = users(ctx, s, "alice", "bob", "carol")
    alice.say("hello all")
    bob.hears("alice", "hello all")
    carol.hears("alice", "hello all")
    return 'alice said "hello all": bob and carol each received "<alice> hello all"'


@grader.check("the speaker does not get their own line back")
def _(ctx):
    s = ctx.start_server()
    alice, bob = users(ctx, s, "alice", "bob")
    alice.say("just me")
    bob.hears("alice", "just me")
    bob.say("hi alice")
    alice.hears("bob", "hi alice", " (and not her own line back)")
    return "alice's line went to bob only; bob's answer was alice's next chat line"


@grader.check("everyone can speak, in any order")
def _(ctx):
    s = ctx.start_server()
    people = users(ctx, s, "ann", "ben", "cat", "dan")
    for speaker in people:
        speaker.say("I am %s" % speaker.name)
        for other in people:
            if other is not speaker:
                other.hears(speaker.name, "I am %s" % speaker.name)
    return "four users spoke in turn: each line reached the three others"


@grader.check("someone leaving does not disturb the others")
def _(ctx):
    s = ctx.start_server()
    alice, bob, carol = users(ctx, s, "alice", "bob", "carol")
    bob.conn.reset()  # bob vanishes
    alice.say("bob left")
    carol.hears("alice", "bob left")
    carol.say("so he did")
    alice.hears("carol", "so he did")
    return "bob vanished; alice and carol went on chatting"


@grader.check("a late joiner hears what is said after joining")
def _(ctx):
    s = ctx.start_server()
    alice, bob = users(ctx, s, "alice", "bob")
    alice.say("before dave")
    bob.hears("alice", "before dave")
    (dave,) = users(ctx, s, "dave")
    alice.say("welcome dave")
    dave.hears("alice", "welcome dave", " (the first chat line said since he joined)")
    bob.hears("alice", "welcome dave")
    return "dave joined late: the first chat line he received was the one said after he came"


if __name__ == "__main__":
    grader.main()
